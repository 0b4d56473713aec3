# `make package`: a Debian package of ontimed (owned by the packaging work; see deploy/debian/).
#
#   cmake --build build --target ontimed && (cd build && cpack -G DEB)
#
# gives build/ontime_<version>_<arch>.deb with:
#   /usr/bin/ontimed                          (installed by daemon/CMakeLists.txt)
#   /lib/systemd/system/ontimed.service       deploy/systemd/ontimed.service
#   /usr/lib/sysusers.d/ontime.conf           deploy/systemd/ontime.sysusers
#   /etc/ontime/ontime.yaml                   deploy/debian/ontime.yaml (conffile, root:ontime 0640)
#   /usr/share/ontime/prometheus/             prometheus.yml, rules/*.yml
#   /usr/share/ontime/alertmanager/           alertmanager.yml, generate.py
#   /usr/share/ontime/dashboards/             *.json, provisioning/*.yml
#   /usr/share/ontime/examples/               deploy/examples/*.yaml
#   /usr/share/doc/ontime/                    README.Debian, operations.md, runbook.md (+ README.md)
# The maintainer scripts (deploy/debian/postinst, prerm, postrm) create the `ontime` user and
# /var/lib/ontime, and remove both (and /etc/ontime) on purge only.
# tests/deploy/package.sh builds, inspects, installs and purges the package.

set(_ontime_src ${PROJECT_SOURCE_DIR})
set(_ontime_debian ${PROJECT_SOURCE_DIR}/deploy/debian)

# Absolute destinations: outside the /usr prefix by Debian convention.
install(FILES ${_ontime_src}/deploy/systemd/ontimed.service
  DESTINATION /lib/systemd/system
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${_ontime_debian}/ontime.yaml
  DESTINATION /etc/ontime
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)  # postinst: chgrp ontime (the unit's PrivateUsers)

# Relative destinations: under CMAKE_INSTALL_PREFIX (/usr in the package).
install(FILES ${_ontime_src}/deploy/systemd/ontime.sysusers
  DESTINATION lib/sysusers.d RENAME ontime.conf)
install(FILES ${_ontime_src}/deploy/prometheus/prometheus.yml
  DESTINATION share/ontime/prometheus)
install(DIRECTORY ${_ontime_src}/deploy/prometheus/rules/
  DESTINATION share/ontime/prometheus/rules FILES_MATCHING PATTERN "*.yml")
install(DIRECTORY ${_ontime_src}/deploy/prometheus/tests/
  DESTINATION share/ontime/prometheus/tests FILES_MATCHING PATTERN "*.yml")
install(FILES ${_ontime_src}/deploy/alertmanager/alertmanager.yml
  DESTINATION share/ontime/alertmanager)
install(PROGRAMS ${_ontime_src}/deploy/alertmanager/generate.py
  DESTINATION share/ontime/alertmanager)
install(DIRECTORY ${_ontime_src}/dashboards/
  DESTINATION share/ontime/dashboards
  FILES_MATCHING PATTERN "*.json" PATTERN "*.yml")
install(DIRECTORY ${_ontime_src}/deploy/examples/
  DESTINATION share/ontime/examples FILES_MATCHING PATTERN "*.yaml")
set(_ontime_docs ${_ontime_debian}/README.Debian ${_ontime_src}/docs/runbook.md)
foreach(_doc ${_ontime_src}/README.md ${_ontime_src}/docs/operations.md)
  if(EXISTS ${_doc})
    list(APPEND _ontime_docs ${_doc})
  endif()
endforeach()
install(FILES ${_ontime_docs} DESTINATION share/doc/ontime)

# --- CPack (DEB)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ontime)
set(CPACK_PACKAGE_VENDOR "ontime")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "ontime maintainers <ontime@example.gov.vn>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "real-time SLA monitor for administrative-procedure dossiers")
set(CPACK_PACKAGE_DESCRIPTION
  "ontimed consumes dossier events from Kafka, tracks every dossier's legal processing time in
working time (calendar, holidays, pauses, per-department steps), and emits at-risk and overdue
alerts and apology letters (Circular 03/2025/TT-VPCP form 04) to Kafka and Alertmanager. It serves
Prometheus metrics and a JSON API over HTTP. The package ships the systemd unit, a commented
configuration in /etc/ontime, Prometheus rules, an Alertmanager example and Grafana dashboards.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_NAME ontime)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.gov.vn/ontime")
# Shared-library dependencies from dpkg-shlibdeps (dpkg-dev); plus what the scripts use.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser | systemd, tzdata")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus, prometheus-alertmanager, kcat, python3")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${_ontime_debian}/conffiles
  ${_ontime_debian}/postinst
  ${_ontime_debian}/prerm
  ${_ontime_debian}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# /etc and /lib/systemd are absolute on purpose; do not warn about them.
set(CPACK_WARN_ON_ABSOLUTE_INSTALL_DESTINATION OFF)

include(CPack)
