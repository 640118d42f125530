# Sourced by tests/run-all.sh, ffi/jvm-tools.sh and ffi/test-bindings.sh: installs what the
# tests need when it is missing, so the test command runs on a bare Debian 12 with only
# Rust (rustup) installed. Every step checks first and does nothing when the tool is there
# (CI runs this on every submission). Debian packages come from apt-get, as root or
# through passwordless sudo; otherwise the step stops with the package to install.

# apt_install PACKAGE...: installs Debian packages, running `apt-get update` once per run.
apt_install() {
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            echo "missing: the Debian package(s) $*; install them (apt-get install -y $*)" \
                "and run again (not root, and no passwordless sudo to do it here)" >&2
            return 1
        fi
    fi
    if [ -z "${GRIDSYNC_APT_UPDATED:-}" ]; then
        echo "apt-get update"
        "${sudo[@]}" apt-get update -qq
        export GRIDSYNC_APT_UPDATED=1
    fi
    echo "apt-get install $*"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# A C compiler and linker: rustc links with `cc`; ring and zstd build C code.
ensure_cc() {
    command -v cc >/dev/null || apt_install gcc libc6-dev
}

# rustfmt and clippy for the toolchain rust-toolchain.toml names, and cargo-nextest.
ensure_rust_tools() {
    local missing=()
    cargo fmt --version >/dev/null 2>&1 || missing+=(rustfmt)
    cargo clippy --version >/dev/null 2>&1 || missing+=(clippy)
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "rustup component add ${missing[*]}"
        rustup component add "${missing[@]}"
    fi
    if ! cargo nextest --version >/dev/null 2>&1; then
        echo "cargo-nextest missing: installing it"
        cargo install --locked cargo-nextest
    fi
}

# node and npm (npm installs the JVM Kotlin compiler).
ensure_node() {
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        apt_install nodejs npm ca-certificates
    fi
}

# A JDK (java and javac) and JNA (/usr/share/java/jna.jar), for Kotlin on the JVM.
ensure_jvm() {
    if ! command -v java >/dev/null || ! command -v javac >/dev/null; then
        apt_install openjdk-17-jdk-headless
    fi
    [ -f /usr/share/java/jna.jar ] || apt_install libjna-java
}

# ensure_pytest_venv DIR: a Python virtual environment in DIR with pytest (Debian's own
# Python refuses `pip install`, PEP 668); sets `venv_python` to its interpreter.
ensure_pytest_venv() {
    local venv="$1"
    venv_python="$venv/bin/python"
    if "$venv_python" -c "import pytest" 2>/dev/null; then
        return 0
    fi
    command -v python3 >/dev/null || apt_install python3
    rm -rf "$venv"
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
        rm -rf "$venv"
        apt_install python3-venv ca-certificates
        python3 -m venv "$venv"
    fi
    echo "pip install pytest (into $venv)"
    "$venv_python" -m pip install -q --disable-pip-version-check pytest
}
