// sweep-report: reduces a sweep result file to a Markdown report and CSV tables.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "common/error.hpp"
#include "report.hpp"

namespace {

// A report of an unfinished study is useful, but its reader must know it is one, and how to
// finish it: a rerun trains pending units but skips failed ones unless told to retry them.
void warn_if_incomplete(const std::string& result_path) {
    size_t pending = 0, failed = 0, total = 0;
    for (const auto& outcome : sweep::report::read_outcomes(result_path)) {
        ++total;
        pending += !outcome.done && !outcome.failed;
        failed += outcome.failed;
    }
    if (pending + failed == 0) return;
    std::string advice;
    if (pending > 0) advice = "rerun sweep run to train the pending units";
    if (failed > 0) {
        advice += advice.empty() ? "" : "; ";
        advice += "rerun sweep run with --retry-failed to train the failed units again";
    }
    std::fprintf(stderr,
                 "sweep-report: warning: %zu of %zu units are pending and %zu failed; their "
                 "settings' statistics leave them out (%s)\n",
                 pending, total, failed, advice.c_str());
}

// The report directory when none is given: the result file's path without ".h5", or with
// ".report" appended when it has no ".h5" to drop, so it never is the file itself.
std::string default_output_dir(const std::string& result_path) {
    std::filesystem::path path(result_path);
    if (path.extension() == ".h5") return path.replace_extension().string();
    return result_path + ".report";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "sweep-report: tables and figures of a sweep result file, as Markdown, CSV and "
        "PNG (drawn by gnuplot)"};
    app.set_version_flag("--version", std::string("sweep-report ") + SWEEP_VERSION);
    std::string result_path, output_dir;
    app.add_option("results", result_path, "result file written by sweep run (HDF5)")->required();
    app.add_option("-o,--output-dir", output_dir,
                   "where report.md, the CSV tables and figures/ go (default: the result "
                   "file's path without .h5, or the path with .report appended when it does "
                   "not end in .h5)");
    app.footer(
        "Writes report.md (the summary table per setting with best, mean and std of the final "
        "test accuracy; train and test accuracy per epoch of each setting's best run; mean test "
        "accuracy per epoch over each setting's seeds with a ±1 std band; normalized confusion "
        "matrices, the most confused class pairs with example images and one-vs-rest ROC curves "
        "with AUC of the best run; and test accuracy against the label-noise rate), a CSV for "
        "every table, and figures/*.png, each with the .dat and .gp files gnuplot drew it from. "
        "Only units marked done count; pending and failed ones are reported in a warning that "
        "says how to finish them. Needs gnuplot on the PATH.\n"
        "Exit codes: 0 the report was written; 1 internal error; 2 bad command line; 5 the "
        "result file cannot be read (missing, a directory, not a sweep result file); 8 the "
        "report cannot be written (directory not writable, gnuplot missing or failing).");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? 0 : sweep::kExitUsage;  // the code README.md documents
    }

    std::error_code ignored;
    if (std::filesystem::is_directory(result_path, ignored)) {
        std::fprintf(stderr, "sweep-report: %s: is a directory, not a result file\n",
                     result_path.c_str());
        return sweep::kExitStore;
    }
    if (output_dir.empty()) output_dir = default_output_dir(result_path);
    try {
        std::cout << sweep::report::write_report(result_path, output_dir);
        std::cout << "\nwrote " << output_dir << "/report.md, its CSV tables beside it and its "
                  << "figures in " << output_dir << "/figures\n";
        warn_if_incomplete(result_path);
    } catch (const sweep::Error& error) {
        std::fprintf(stderr, "sweep-report: %s\n", error.what());
        return error.code();
    } catch (const std::exception& error) {
        std::fprintf(stderr, "sweep-report: %s\n", error.what());
        return sweep::kExitInternal;
    }
    return 0;
}
