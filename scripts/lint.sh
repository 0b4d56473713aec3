#!/usr/bin/env bash
# The style checks CI runs (ctest label `lint`): `format` checks every C++ file against
# .clang-format (Google-based, 100 columns); `names BUILD_DIR` runs clang-tidy's naming check
# (.clang-tidy) over every translation unit in BUILD_DIR/compile_commands.json.
set -euo pipefail
cd "$(dirname "$0")/.."
format=clang-format-16
tidy=run-clang-tidy-16
case "${1:-}" in
  format)
    git ls-files -co --exclude-standard '*.cc' '*.h' | grep -v '^build' |
      xargs "$format" --dry-run --Werror
    echo "format: ok"
    ;;
  names)
    build=$(cd "${2:?usage: lint.sh names BUILD_DIR}" && pwd)
    "$tidy" -quiet -p "$build" -j "${JOBS:-2}" \
      "^$(pwd)/(base|rules|streams|daemon|testdata|bench|tests)/" >"$build/clang-tidy.log" 2>&1 || {
      grep -E "(warning|error):" "$build/clang-tidy.log" | sort -u
      echo "names: clang-tidy found the above (full log: $build/clang-tidy.log)"
      exit 1
    }
    echo "names: ok"
    ;;
  *)
    echo "usage: lint.sh format | names BUILD_DIR" >&2
    exit 64
    ;;
esac
