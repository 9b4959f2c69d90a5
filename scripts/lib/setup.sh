# Shared by scripts/quickstart and scripts/test: Debian packages and the build.
# Sourced, not run. Needs Debian 12 (bookworm) or later, as root or with sudo.

# What sweep builds and runs with. libopenblas0-pthread matters: Debian's LibTorch calls
# whatever libblas.so.3 the system has, and the reference BLAS is ~60x slower.
SWEEP_PACKAGES=(
    build-essential cmake pkg-config ccache git
    libtorch-dev libopenblas0-pthread
    openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools
    libyaml-cpp-dev libfmt-dev libspdlog-dev libcli11-dev zlib1g-dev
    libcurl4-openssl-dev libssl-dev libarchive-dev ca-certificates
    gnuplot-nox
    dataset-fashion-mnist
)

say() { printf '\n==> %s\n' "$*"; }

as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# Installs the packages given that are not installed yet.
install_missing() {
    local missing=() package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
            missing+=("$package")
    done
    if ((${#missing[@]} == 0)); then
        say "Debian packages: all ${#@} present"
        return
    fi
    say "installing ${#missing[@]} Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
}

check_blas() {
    local blas
    blas=$(readlink -f /usr/lib/"$(gcc -dumpmachine)"/libblas.so.3 2>/dev/null || true)
    case $blas in
        *openblas*) say "BLAS: $blas" ;;
        *) say "warning: libblas.so.3 is $blas, not OpenBLAS; training will be much slower." \
                "Fix: update-alternatives --config libblas.so.3-$(gcc -dumpmachine)" ;;
    esac
}

# Configures and builds into build/ (Release), compiling through ccache when present.
build_sweep() {
    say "configuring into build/"
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@"
    say "building with $(nproc) jobs (the first build takes a few minutes)"
    cmake --build build -j "$(nproc)"
}

# mpirun with the flags a single machine needs: more ranks than cores, and root if we are.
mpirun_local() {
    local flags=(--oversubscribe)
    [[ $(id -u) -eq 0 ]] && flags+=(--allow-run-as-root)
    mpirun "${flags[@]}" "$@"
}
