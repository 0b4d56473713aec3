# `make package`: a Debian package of ontimed (owned by the packaging work; see deploy/debian/).
