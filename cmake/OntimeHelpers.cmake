# Shared build settings for every ontime module.

set(ONTIME_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor)
if(ONTIME_WERROR)
  list(APPEND ONTIME_WARNINGS -Werror)
endif()

if(ONTIME_SANITIZE)
  add_compile_options(-fsanitize=${ONTIME_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${ONTIME_SANITIZE})
endif()

# ontime_add_library(NAME DEPS <public deps...> PRIVATE_DEPS <private deps...>)
# Builds <module>/src/*.cc into ontime_<NAME>, aliased ontime::<NAME>, with the public headers in
# <module>/include and the private ones in <module>/src.
function(ontime_add_library name)
  cmake_parse_arguments(ARG "" "" "DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cc)
  add_library(ontime_${name} STATIC ${sources})
  add_library(ontime::${name} ALIAS ontime_${name})
  target_include_directories(ontime_${name}
    PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_compile_options(ontime_${name} PRIVATE ${ONTIME_WARNINGS})
  target_link_libraries(ontime_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# ontime_add_test(NAME DIR <dir> LABEL <label> DEPS <deps...>)
# One gtest binary per module from <dir>/*_test.cc.
function(ontime_add_test name)
  cmake_parse_arguments(ARG "" "DIR;LABEL" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${ARG_DIR}/*_test.cc)
  if(NOT sources)
    return()
  endif()
  add_executable(${name} ${sources})
  target_compile_options(${name} PRIVATE ${ONTIME_WARNINGS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_compile_definitions(${name} PRIVATE ONTIME_TEST_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${name}
    PROPERTIES LABELS ${ARG_LABEL}
    ENVIRONMENT "ONTIME_SOURCE_DIR=${PROJECT_SOURCE_DIR};ONTIME_BINARY_DIR=${PROJECT_BINARY_DIR}"
    DISCOVERY_TIMEOUT 30)
endfunction()
