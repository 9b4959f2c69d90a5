// sweep: runs a study of LeNet-5 trainings across MPI ranks into one HDF5 file.
#include <fmt/format.h>
#include <mpi.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "common/error.hpp"
#include "fetch/fetch.hpp"
#include "inspect/inspect.hpp"
#include "plan/plan.hpp"
#include "run/log.hpp"
#include "run/run.hpp"
#include "train/train.hpp"

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

// The arguments of `sweep plan`.
struct PlanArguments {
    std::string study_path;
    std::string output;  // overrides the study's output when not empty
    sweep::inspect::PlanOptions options;
};

// A dry run needs one process: under mpirun only rank 0 reads and prints.
int plan_study(int rank, const PlanArguments& arguments) {
    if (rank != 0) return sweep::kExitOk;
    sweep::plan::Study study = sweep::plan::load_study(arguments.study_path);
    if (!arguments.output.empty()) study.output = arguments.output;
    std::cout << sweep::inspect::describe_plan(study, arguments.options) << std::flush;
    return sweep::kExitOk;
}

// Reading a result file needs one process: under mpirun only rank 0 reads and prints.
int show_status(int rank, const std::string& result_path) {
    if (rank != 0) return sweep::kExitOk;
    std::cout << sweep::inspect::describe_status(result_path) << std::flush;
    return sweep::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);

    CLI::App app{"sweep: hyperparameter sweeps of LeNet-5 across MPI ranks into one HDF5 file"};
    // A function, so that only --version pays for asking CUDA how many devices it has.
    app.set_version_flag("--version", std::function<std::string()>([] {
                             const int devices = sweep::train::cuda_device_count();
                             return fmt::format(
                                 "sweep {} (LibTorch {}, {})", SWEEP_VERSION,
                                 sweep::train::torch_version(),
                                 devices > 0 ? fmt::format("{} CUDA device(s) visible", devices)
                                             : std::string("no CUDA device visible"));
                         }));
    app.require_subcommand(1);
    app.footer(
        "`sweep COMMAND --help` describes each command. A study goes: sweep plan FILE (check it "
        "and see its cost), mpirun -n N sweep run FILE, sweep status RESULT.h5, then "
        "sweep-report RESULT.h5.\n"
        "Exit codes, for every command: 0 success; 1 internal error; 2 bad command line; 3 bad "
        "study file; 4 bad or missing data; 5 unusable result file; 6 MPI or launch problem; 7 "
        "some units failed; 9 stopped by a signal.");
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
    run->add_flag("--force", options.force,
                  "when the result file comes from another plan (or is not a result file), keep "
                  "it and write RESULT.1.h5 (or the next free number) beside it; never deletes");
    run->add_option("--progress", options.progress,
                    "progress display on rank 0: bar (redrawn in place), lines (a line every "
                    "minute, for log files), or auto: a bar when stderr is a terminal (under "
                    "mpirun it is not: ask for the bar)")
        ->check(CLI::IsMember({"auto", "bar", "lines"}))
        ->capture_default_str();
    run->add_flag("--retry-failed", options.retry_failed,
                  "train the units recorded as failed again, besides the pending ones");
    run->add_option("--threads", options.threads,
                    "CPU threads per worker (default: the node's cores shared among its "
                    "workers)")
        ->check(CLI::Range(1, 1024));
    run->add_option("--pack", options.pack,
                    "train up to K compatible units (same data set, sizes and batch sizes) at "
                    "once on each worker as one batched model; each keeps its own seed, "
                    "optimizer, learning rate, gamma, label noise and shuffling")
        ->check(CLI::Range(1, 256))
        ->capture_default_str();
    run->add_flag("--share-gpus", options.share_gpus,
                  "let more workers than visible GPUs share them, round robin (default: refuse, "
                  "naming the host); workers that see the same CUDA_VISIBLE_DEVICES take its "
                  "devices in node-local rank order");

    run->footer(
        "With one process, it trains every unit itself; under mpirun or srun with N ranks, rank "
        "0 schedules and ranks 1..N-1 train. Rerunning the same command resumes: units done (or "
        "failed, unless --retry-failed) are skipped. A result file from another plan is refused "
        "and left untouched. SIGTERM or SIGINT stops cleanly at the next batch and prints the "
        "resume command. --log-level, like every global option, may follow the subcommand.\n"
        "Environment: SWEEP_DATA_DIR (where data sets live), CUDA_VISIBLE_DEVICES (the GPUs a "
        "worker may use), HDF5_USE_FILE_LOCKING=FALSE (for file systems without locks, errno "
        "37).\n"
        "Exit codes: 0 every unit is done; 1 internal error; 2 bad command line; 3 the study file "
        "is invalid; 4 a "
        "data file is missing or malformed; 5 the result file cannot be used; 6 MPI failed or the "
        "launch is inconsistent; 7 some units failed; 9 stopped by a signal (rerun to resume).");

    CLI::App* data = app.add_subcommand("data", "manage data sets");
    data->require_subcommand(1);
    data->footer(
        "`sweep run` looks for a data set in the study's data_dir, then --data-dir/DATASET, "
        "$SWEEP_DATA_DIR/DATASET, ./data/DATASET, and for fashion-mnist Debian's "
        "/usr/share/datasets/fashion-mnist (package dataset-fashion-mnist).\n"
        "Exit codes: 0 success; 1 internal error; 2 bad command line; 4 the download or a checksum "
        "failed.");
    CLI::App* fetch = data->add_subcommand(
        "fetch", "download a data set from its official source, verify its checksums, unpack");
    std::string fetch_name, fetch_root = "data";
    fetch->add_option("dataset", fetch_name, "mnist, fashion-mnist or cifar10")
        ->required()
        ->check(CLI::IsMember(sweep::fetch::dataset_names()));
    fetch->add_option("--dir", fetch_root, "where data sets live; writes DIR/DATASET/")
        ->check([](const std::string& dir) {
            return dir.empty() ? std::string("must not be empty") : std::string();
        })
        ->capture_default_str();

    fetch->footer(
        "Downloads into DIR/DATASET/NAME.part, checks the published MD5 of every file, then "
        "renames it; an interrupted fetch leaves no file that looks complete. CIFAR-10's archive "
        "is unpacked (entries outside the folder are refused). Set SWEEP_DATA_MIRROR to a base URL "
        "to download from $SWEEP_DATA_MIRROR/DATASET/ instead of the official source.\n"
        "Exit codes: 0 the data set is in place; 1 internal error; 2 bad command line; 4 the "
        "download or a "
        "checksum failed.");

    PlanArguments plan_arguments;
    CLI::App* plan = app.add_subcommand(
        "plan", "dry run: check a study file, show its units, settings and estimated cost");
    plan->add_option("study", plan_arguments.study_path, "study file (YAML)")->required();
    plan->add_option("-o,--output", plan_arguments.output,
                     "result file to look for, as `run -o` would use it (default: the study's "
                     "output key, else results/STUDY.h5); when it exists, its done, failed and "
                     "pending units are counted and its plan is compared with the study's");
    plan->add_flag("--units", plan_arguments.options.list_units,
                   "also list every unit: index, id, parameters and seed");
    plan->add_option("--workers", plan_arguments.options.workers,
                     "training ranks the wall-time estimate assumes (mpirun -n WORKERS+1)")
        ->capture_default_str()
        ->check(CLI::Range(1, 100000));
    plan->footer(fmt::format(
        "Reads the study as `run` does and prints its name and result file, the units per data "
        "set and per setting (with the count of seeds), and the estimated cost: training "
        "images (epochs x train_size, or the whole split: 60000 for mnist and fashion-mnist, "
        "50000 for cifar10) at {} images/s per CPU worker, a cifar10 image costing {}x a "
        "28x28 one. When the result file exists it counts its done, failed and pending units, "
        "or says that it comes from a different plan. Writes nothing and opens no data set, so "
        "a missing data file is only found by `run`.\n"
        "Exit codes: 0 the study is valid; 1 internal error; 2 bad command line; 3 the study is "
        "not valid (the "
        "message names file:line:column and the key).",
        sweep::inspect::kImagesPerSecond, sweep::inspect::kColourImageCost));

    std::string status_path;
    CLI::App* status = app.add_subcommand(
        "status", "summarize a result file: units done, pending and failed, mean accuracy");
    status->add_option("results", status_path, "result file (HDF5) written by `sweep run`")
        ->required();
    status->footer(
        "Prints, per setting, the units done, pending and failed and the mean final test "
        "accuracy of the done ones (percent, three decimals); then every failed unit with "
        "where it ran and its error; then the totals, the training time summed over units, "
        "and the hosts and devices used. Reads the file only.\n"
        "Exit codes: 0 the file was read; 1 internal error; 2 bad command line; 5 it cannot be "
        "read (missing, not "
        "HDF5, not a sweep result file).");

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
        } else if (*plan) {
            code = plan_study(rank, plan_arguments);
        } else if (*status) {
            code = show_status(rank, status_path);
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
