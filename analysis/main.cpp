// sweep-report: reduces a sweep result file to a Markdown report and CSV tables.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "common/error.hpp"
#include "report.hpp"

int main(int argc, char** argv) {
    CLI::App app{
        "sweep-report: tables and figures of a sweep result file, as Markdown, CSV and "
        "PNG (drawn by gnuplot)"};
    app.set_version_flag("--version", std::string("sweep-report ") + SWEEP_VERSION);
    std::string result_path, output_dir;
    app.add_option("results", result_path, "result file written by sweep run (HDF5)")->required();
    app.add_option("-o,--output-dir", output_dir,
                   "where report.md, the CSV tables and figures/ go (default: the result "
                   "file's path without .h5)");
    CLI11_PARSE(app, argc, argv);

    if (output_dir.empty()) {
        output_dir = std::filesystem::path(result_path).replace_extension().string();
    }
    try {
        std::cout << sweep::report::write_report(result_path, output_dir);
        std::cout << "\nwrote " << output_dir << "/report.md, its CSV tables beside it and its "
                  << "figures in " << output_dir << "/figures\n";
    } catch (const sweep::Error& error) {
        std::fprintf(stderr, "sweep-report: %s\n", error.what());
        return error.code();
    } catch (const std::exception& error) {
        std::fprintf(stderr, "sweep-report: %s\n", error.what());
        return sweep::kExitInternal;
    }
    return 0;
}
