#include "report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "common/error.hpp"
#include "figures.hpp"
#include "sections.hpp"
#include "store/store.hpp"

namespace sweep::report {
namespace {

namespace fs = std::filesystem;

// The official splits, against which a run counts as being on a subset.
const std::map<std::string, DatasetSize> kOfficialSizes = {
    {"mnist", {60000, 10000}}, {"fashion-mnist", {60000, 10000}}, {"cifar10", {50000, 10000}}};

std::string percent(double value) {
    return std::isnan(value) ? "n/a" : fmt::format("{:.3f}", value);
}

// A footnote mark: ¹ to ⁹, then [10], [11]...
std::string footnote_mark(size_t number) {
    // Split in two: each superscript is several bytes, which byte-counting tools take for width.
    // clang-format off
    static const char* const kSuperscripts[] = {"¹", "²", "³", "⁴", "⁵",
                                                 "⁶", "⁷", "⁸", "⁹"};
    // clang-format on
    return number <= 9 ? kSuperscripts[number - 1] : fmt::format("[{}]", number);
}

// Which optional columns the table needs: a parameter gets a column only where it tells rows
// apart or applies (momentum only to SGD).
struct Columns {
    bool momentum = false;
    bool epochs = false;
    bool batch = false;
    bool not_done = false;
};

Columns columns_for(const std::vector<SettingSummary>& settings) {
    Columns columns;
    if (settings.empty()) return columns;
    const plan::Unit& first = settings.front().setting;
    for (const SettingSummary& row : settings) {
        columns.momentum |= row.setting.optimizer == "sgd";
        columns.epochs |= row.setting.epochs != first.epochs;
        columns.batch |= row.setting.batch_size != first.batch_size;
        columns.not_done |= row.failed > 0 || row.pending > 0;
    }
    return columns;
}

std::string table_header(const Columns& columns) {
    std::string header = "| dataset | optimizer | lr | gamma |";
    std::string rule = "| --- | --- | ---: | ---: |";
    if (columns.momentum) header += " momentum |", rule += " ---: |";
    header += " epsilon |", rule += " ---: |";
    if (columns.epochs) header += " epochs |", rule += " ---: |";
    if (columns.batch) header += " batch |", rule += " ---: |";
    if (columns.not_done) header += " failed | pending |", rule += " ---: | ---: |";
    return header + " runs | best % | mean % | std % |\n" + rule + " ---: | ---: | ---: | ---: |\n";
}

int64_t used(int64_t limit, int64_t available) {
    if (limit <= 0) return available;
    return available > 0 ? std::min(limit, available) : limit;
}

std::string count_text(int64_t count) {
    return count > 0 ? fmt::format("{}", count) : "all";
}

std::vector<UnitOutcome> read_outcomes(const store::ResultReader& reader) {
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

// The test split of every data set in the file, or why it cannot be read (a file from before
// sweep stored test splits has none); the sections that need it then say so.
struct Datasets {
    std::map<std::string, store::DatasetInfo> infos;
    std::map<std::string, std::string> errors;
};

Datasets read_datasets(const store::ResultReader& reader) {
    Datasets datasets;
    for (const std::string& name : reader.dataset_names()) {
        try {
            datasets.infos.emplace(name, reader.dataset(name));
        } catch (const StoreError& error) {
            datasets.errors.emplace(name, error.what());
        }
    }
    return datasets;
}

std::string provenance(const store::ResultReader& reader, const std::string& result_path,
                       const std::vector<UnitOutcome>& outcomes) {
    size_t done = 0, failed = 0;
    for (const UnitOutcome& outcome : outcomes) {
        done += outcome.done;
        failed += outcome.failed;
    }
    std::string markdown = fmt::format("# Study {}\n\n", reader.attribute("study"));
    markdown += fmt::format(
        "Result file `{}`, created {} by sweep {} (commit {}) with LibTorch {}, HDF5 {}, {}.\n\n",
        result_path, reader.attribute("created_utc"), reader.attribute("sweep_version"),
        reader.attribute("git_commit"), reader.attribute("torch_version"),
        reader.attribute("hdf5_version"), reader.attribute("mpi_version"));
    markdown += fmt::format(
        "{} of {} units done, {} failed, {} pending. Failed and pending units are counted here "
        "and in the table, and left out of every statistic and figure.\n\n",
        done, outcomes.size(), failed, outcomes.size() - done - failed);
    return markdown;
}

std::string summary_section(const std::vector<SettingSummary>& settings,
                            const DatasetSizes& sizes) {
    std::string markdown = "## Final test accuracy per setting\n\n";
    markdown +=
        "Over the seeds of each setting: best, mean and sample standard deviation "
        "(n − 1) of the test accuracy after the last epoch, in percent ([summary.csv]"
        "(summary.csv) has every parameter).";
    const Columns columns = columns_for(settings);
    if (!settings.empty() && !columns.epochs) {
        markdown += fmt::format(" Every setting trained {} epochs", settings[0].setting.epochs);
        markdown +=
            columns.batch ? "." : fmt::format(" in batches of {}.", settings[0].setting.batch_size);
    }
    return markdown + "\n\n" + markdown_table(settings, sizes) + "\n";
}

fs::path make_directory(const fs::path& path) {
    std::error_code error;
    fs::create_directories(path, error);
    if (error) {
        throw Error(fmt::format("{}: cannot create the report directory: {}", path.string(),
                                error.message()),
                    kExitReport);
    }
    return path;
}

// The data set's heading, and which of its settings ran on a subset, in words.
std::string dataset_heading(const std::string& name,
                            const std::vector<const SettingSummary*>& settings,
                            const DatasetSizes& sizes) {
    std::string markdown = fmt::format("## {}\n\n", dataset_title(name));
    std::vector<std::pair<std::string, size_t>> notes;  // note, settings it applies to
    for (const SettingSummary* setting : settings) {
        const std::string note = subset_note(setting->setting, sizes);
        if (note.empty()) continue;
        auto found = std::find_if(notes.begin(), notes.end(),
                                  [&](const auto& entry) { return entry.first == note; });
        if (found == notes.end()) found = notes.insert(notes.end(), {note, 0});
        ++found->second;
    }
    for (auto& [note, count] : notes) {
        note[0] = 'R';  // "run on a subset" opens the sentence
        const std::string which = count == settings.size()
                                      ? "every setting"
                                      : fmt::format("{} of {} settings", count, settings.size());
        markdown += fmt::format("{} ({}).\n\n", note, which);
    }
    return markdown;
}

}  // namespace

std::string subset_note(const plan::Unit& setting, const DatasetSizes& sizes) {
    const auto found = sizes.find(setting.dataset);
    const DatasetSize files = found == sizes.end() ? DatasetSize{} : found->second;
    const int64_t train = used(setting.train_size, files.train_count);
    const int64_t test = used(setting.test_size, files.test_count);

    const auto official = kOfficialSizes.find(setting.dataset);
    bool subset = (setting.train_size > 0 && setting.train_size < files.train_count) ||
                  (setting.test_size > 0 && setting.test_size < files.test_count) ||
                  (files.train_count == 0 && setting.train_size > 0) ||
                  (files.test_count == 0 && setting.test_size > 0);
    if (official != kOfficialSizes.end()) {
        subset |= (train > 0 && train < official->second.train_count) ||
                  (test > 0 && test < official->second.test_count);
    }
    if (!subset) return "";
    return fmt::format("run on a subset: {} training, {} test images", count_text(train),
                       count_text(test));
}

std::string markdown_table(const std::vector<SettingSummary>& settings, const DatasetSizes& sizes) {
    const Columns columns = columns_for(settings);
    std::string table = table_header(columns);
    std::vector<std::string> notes;
    for (const SettingSummary& row : settings) {
        const plan::Unit& s = row.setting;
        std::string dataset = dataset_title(s.dataset);
        const std::string note = subset_note(s, sizes);
        if (!note.empty()) {
            auto found = std::find(notes.begin(), notes.end(), note);
            if (found == notes.end()) found = notes.insert(notes.end(), note);
            dataset += footnote_mark(static_cast<size_t>(found - notes.begin()) + 1);
        }
        table += fmt::format("| {} | {} | {} | {} |", dataset, s.optimizer, s.lr, s.gamma);
        if (columns.momentum) {
            table += s.optimizer == "sgd" ? fmt::format(" {} |", s.momentum) : " – |";
        }
        table += fmt::format(" {} |", s.epsilon);
        if (columns.epochs) table += fmt::format(" {} |", s.epochs);
        if (columns.batch) table += fmt::format(" {} |", s.batch_size);
        if (columns.not_done) table += fmt::format(" {} | {} |", row.failed, row.pending);
        table +=
            fmt::format(" {} | {} | {} | {} |\n", row.accuracy.count, percent(row.accuracy.best),
                        percent(row.accuracy.mean), percent(row.accuracy.std));
    }
    for (size_t i = 0; i < notes.size(); ++i) {
        table += fmt::format("{}{} {}\n", i ? "" : "\n", footnote_mark(i + 1), notes[i]);
        if (i + 1 < notes.size()) table += "\n";
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
    return read_outcomes(reader);
}

std::string write_report(const std::string& result_path, const std::string& output_dir) {
    require_gnuplot();
    const store::ResultReader reader(result_path);
    const std::vector<UnitOutcome> outcomes = read_outcomes(reader);
    const std::vector<SettingSummary> settings = summarize_settings(outcomes);
    const Datasets datasets = read_datasets(reader);
    DatasetSizes sizes;
    for (const auto& [name, info] : datasets.infos) {
        sizes[name] = {info.train_count, info.test_count};
    }

    const ReportPaths paths{make_directory(output_dir),
                            make_directory(fs::path(output_dir) / "figures")};
    std::string markdown = provenance(reader, result_path, outcomes);
    markdown += summary_section(settings, sizes);
    write_text(paths.dir / "summary.csv", csv_table(settings));

    for (const std::string& name : reader.dataset_names()) {
        DatasetView view{name, {}, &outcomes, nullptr, ""};
        for (const SettingSummary& setting : settings) {
            if (setting.setting.dataset == name) view.settings.push_back(&setting);
        }
        const auto info = datasets.infos.find(name);
        if (info != datasets.infos.end()) view.info = &info->second;
        const auto error = datasets.errors.find(name);
        if (error != datasets.errors.end()) view.info_error = error->second;
        markdown += dataset_heading(name, view.settings, sizes);
        markdown += dataset_sections(reader, view, paths);
    }
    write_text(paths.dir / "report.md", markdown);
    return markdown_table(settings, sizes);
}

}  // namespace sweep::report
