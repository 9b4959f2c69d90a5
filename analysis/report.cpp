#include "report.hpp"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/error.hpp"
#include "store/store.hpp"

namespace sweep::report {
namespace {

std::string percent(double value) {
    return std::isnan(value) ? "n/a" : fmt::format("{:.3f}", value);
}

bool any_subset(const std::vector<SettingSummary>& settings) {
    for (const SettingSummary& row : settings) {
        if (row.setting.train_size > 0 || row.setting.test_size > 0) return true;
    }
    return false;
}

std::string size_text(int64_t size) {
    return size > 0 ? fmt::format("{}", size) : "all";
}

void write_text(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    out.close();
    if (!out) throw Error(fmt::format("{}: cannot write", path.string()), kExitInternal);
}

}  // namespace

std::string markdown_table(const std::vector<SettingSummary>& settings) {
    const bool subsets = any_subset(settings);
    std::string table =
        "| dataset | optimizer | lr | gamma | momentum | epsilon | epochs | batch |";
    std::string rule = "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |";
    if (subsets) {
        table += " train images | test images |";
        rule += " ---: | ---: |";
    }
    table += " runs | best % | mean % | std % |\n";
    rule += " ---: | ---: | ---: | ---: |\n";
    table += rule;
    for (const SettingSummary& row : settings) {
        const plan::Unit& s = row.setting;
        table += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |", s.dataset, s.optimizer,
                             s.lr, s.gamma, s.momentum, s.epsilon, s.epochs, s.batch_size);
        if (subsets) {
            table += fmt::format(" {} | {} |", size_text(s.train_size), size_text(s.test_size));
        }
        table +=
            fmt::format(" {} | {} | {} | {} |\n", row.accuracy.count, percent(row.accuracy.best),
                        percent(row.accuracy.mean), percent(row.accuracy.std));
    }
    return table;
}

std::string csv_table(const std::vector<SettingSummary>& settings) {
    std::string csv =
        "dataset,optimizer,lr,gamma,momentum,epsilon,epochs,batch_size,test_batch_size,"
        "train_size,test_size,runs,failed,pending,best_percent,mean_percent,std_percent\n";
    for (const SettingSummary& row : settings) {
        const plan::Unit& s = row.setting;
        csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", s.dataset,
                           s.optimizer, s.lr, s.gamma, s.momentum, s.epsilon, s.epochs,
                           s.batch_size, s.test_batch_size, s.train_size, s.test_size,
                           row.accuracy.count, row.failed, row.pending, percent(row.accuracy.best),
                           percent(row.accuracy.mean), percent(row.accuracy.std));
    }
    return csv;
}

std::vector<UnitOutcome> read_outcomes(const std::string& result_path) {
    const store::ResultReader reader(result_path);
    const std::vector<plan::Unit> units = reader.units();
    const std::vector<store::Status> status = reader.status();
    const std::vector<store::Outcome> stored = reader.outcomes();
    std::vector<UnitOutcome> outcomes;
    for (size_t i = 0; i < units.size(); ++i) {
        outcomes.push_back({units[i], status[i] == store::Status::kDone,
                            status[i] == store::Status::kFailed, stored[i].final_test_accuracy});
    }
    return outcomes;
}

std::string write_report(const std::string& result_path, const std::string& output_dir) {
    const std::vector<UnitOutcome> outcomes = read_outcomes(result_path);
    const std::vector<SettingSummary> settings = summarize_settings(outcomes);
    const store::ResultReader reader(result_path);

    size_t done = 0, failed = 0;
    for (const UnitOutcome& outcome : outcomes) {
        done += outcome.done;
        failed += outcome.failed;
    }
    const std::string table = markdown_table(settings);
    std::string markdown = fmt::format("# Study {}\n\n", reader.attribute("study"));
    markdown += fmt::format(
        "Result file `{}`, created {} by sweep {} (commit {}) with LibTorch {}, HDF5 {}, {}.\n\n",
        result_path, reader.attribute("created_utc"), reader.attribute("sweep_version"),
        reader.attribute("git_commit"), reader.attribute("torch_version"),
        reader.attribute("hdf5_version"), reader.attribute("mpi_version"));
    markdown += fmt::format("{} of {} units done, {} failed, {} pending.\n\n", done,
                            outcomes.size(), failed, outcomes.size() - done - failed);
    markdown += "## Final test accuracy per setting\n\n";
    markdown +=
        "Over the seeds of each setting: best, mean and sample standard deviation "
        "(n − 1) of the test accuracy after the last epoch, in percent.\n\n";
    markdown += table;

    std::error_code error;
    std::filesystem::create_directories(output_dir, error);
    if (error) {
        throw Error(
            fmt::format("{}: cannot create the report directory: {}", output_dir, error.message()),
            kExitInternal);
    }
    write_text(std::filesystem::path(output_dir) / "report.md", markdown);
    write_text(std::filesystem::path(output_dir) / "summary.csv", csv_table(settings));
    return table;
}

}  // namespace sweep::report
