// Owns the report's per-data-set sections: learning curves, the best run's confusion, most
// confused pairs and ROC curves, label noise. Needs the store's reader and the figures module.
// Not shared across threads: each section writes files under the report directory.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "stats.hpp"
#include "store/store.hpp"

namespace sweep::report {

// Where a report goes: Markdown and CSV tables in dir, figures (PNG, data, scripts) in figures.
struct ReportPaths {
    std::filesystem::path dir;
    std::filesystem::path figures;
};

// Everything one data set's sections draw on, read once from the result file.
struct DatasetView {
    std::string name;                             // as the plan spells it, e.g. "fashion-mnist"
    std::vector<const SettingSummary*> settings;  // of this data set, in plan order
    const std::vector<UnitOutcome>* outcomes = nullptr;  // every unit of the file, by index
    const store::DatasetInfo* info = nullptr;            // null when its test split cannot be read
    std::string info_error;                              // why, when info is null
};

// The Markdown of one data set's sections (from "### Learning curves" on); writes their figures
// and CSV tables under paths. A section without data is replaced by a one-line note.
std::string dataset_sections(const store::ResultReader& reader, const DatasetView& view,
                             const ReportPaths& paths);

// The setting whose runs the confusion, pairs and ROC sections show: among the settings without
// label noise (epsilon 0) that have a done run, the highest mean final test accuracy; the first
// in plan order on a tie. Null when there is none.
const SettingSummary* best_clean_setting(const std::vector<const SettingSummary*>& settings);

// "Fashion-MNIST" for "fashion-mnist", and so on; unknown names come back unchanged.
std::string dataset_title(const std::string& dataset);

// A setting in a few words, e.g. "sgd lr=0.05 γ=0.9 m=0.9" or "adam lr=0.001 ε=0.5".
std::string setting_label(const plan::Unit& setting);

// Writes a whole file; throws Error naming the path when it cannot.
void write_text(const std::filesystem::path& path, const std::string& text);

}  // namespace sweep::report
