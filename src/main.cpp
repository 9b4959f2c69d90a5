// sweep: runs a study of LeNet-5 trainings across MPI ranks into one HDF5 file.
#include <mpi.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "common/error.hpp"
#include "fetch/fetch.hpp"
#include "run/log.hpp"
#include "run/run.hpp"

namespace {

// The one catch site: under MPI a rank that fails alone must take the others down with it,
// or they would wait forever in the next collective call.
[[noreturn]] void abort_all(int rank, const char* what, int code) {
    std::fprintf(stderr, "sweep (rank %d): %s\n", rank, what);
    std::fflush(stderr);
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size > 1) MPI_Abort(MPI_COMM_WORLD, code);
    MPI_Finalize();
    std::exit(code);
}

// Downloads on rank 0 only: one copy per data directory is enough.
int fetch_dataset(int rank, const std::string& name, const std::string& root) {
    if (rank != 0) return sweep::kExitOk;
    // A mirror (or a test server) holding the same file names, one folder per data set.
    const char* mirror = std::getenv("SWEEP_DATA_MIRROR");
    const std::string base_url =
        mirror != nullptr && mirror[0] != '\0' ? std::string(mirror) + "/" + name + "/" : "";
    const std::string dir = root + "/" + name;
    sweep::fetch::fetch_dataset(name, dir, base_url, std::cout);
    std::cout << name << ": ready in " << dir << "\n";
    return sweep::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);

    CLI::App app{"sweep: hyperparameter sweeps of LeNet-5 across MPI ranks into one HDF5 file"};
    app.set_version_flag("--version", std::string("sweep ") + SWEEP_VERSION);
    app.require_subcommand(1);
    app.fallthrough();  // global options may follow the subcommand too
    std::string log_level;
    app.add_option("--log-level", log_level,
                   "trace, debug, info, warn, error, critical or off (default: info on rank 0, "
                   "warn on the others)")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));

    sweep::run::Options options;
    CLI::App* run = app.add_subcommand(
        "run", "train every unit of a study file not yet done, writing its HDF5 result file");
    run->add_option("study", options.study_path, "study file (YAML)")->required();
    run->add_option("-o,--output", options.output,
                    "result file (default: the study's output key, else results/STUDY.h5)");
    run->add_option("--data-dir", options.data_dir,
                    "a directory holding one folder per data set (mnist/, fashion-mnist/, "
                    "cifar10/), searched after the study's data_dir and before "
                    "$SWEEP_DATA_DIR and ./data");
    run->add_option("--threads", options.threads,
                    "CPU threads per worker (default: the node's cores shared among its "
                    "workers)")
        ->check(CLI::Range(1, 1024));

    CLI::App* data = app.add_subcommand("data", "manage data sets");
    data->require_subcommand(1);
    CLI::App* fetch = data->add_subcommand(
        "fetch", "download a data set from its official source, verify its checksums, unpack");
    std::string fetch_name, fetch_root = "data";
    fetch->add_option("dataset", fetch_name, "mnist, fashion-mnist or cifar10")
        ->required()
        ->check(CLI::IsMember(sweep::fetch::dataset_names()));
    fetch->add_option("--dir", fetch_root, "where data sets live; writes DIR/DATASET/")
        ->capture_default_str();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        // Every rank parses the same arguments; only rank 0 speaks.
        const int code = rank == 0 ? app.exit(error) : (error.get_exit_code() == 0 ? 0 : 2);
        MPI_Finalize();
        return code == 0 ? 0 : sweep::kExitUsage;
    }

    int code = sweep::kExitOk;
    try {
        sweep::log::init(rank, log_level);
        if (*fetch) {
            code = fetch_dataset(rank, fetch_name, fetch_root);
        } else {
            code = sweep::run::run_sweep(options);
        }
    } catch (const sweep::Error& error) {
        abort_all(rank, error.what(), error.code());
    } catch (const std::exception& error) {
        abort_all(rank, error.what(), sweep::kExitInternal);
    }
    MPI_Finalize();
    return code;
}
