// Owns the report: reads a result file, summarizes it per setting, writes Markdown and CSV.
// Needs the store's serial reader; knows nothing of MPI or Torch. Not shared across threads.
#pragma once

#include <string>
#include <vector>

#include "stats.hpp"

namespace sweep::report {

// The per-setting table, as Markdown (for report.md and the terminal) and CSV.
// Accuracies are printed in percent with three decimals.
std::string markdown_table(const std::vector<SettingSummary>& settings);
std::string csv_table(const std::vector<SettingSummary>& settings);

// Reads every unit's outcome from a result file.
std::vector<UnitOutcome> read_outcomes(const std::string& result_path);

// Writes DIR/report.md and DIR/summary.csv for the result file and returns the Markdown
// table. Throws StoreError when the file cannot be read, Error when DIR cannot be written.
std::string write_report(const std::string& result_path, const std::string& output_dir);

}  // namespace sweep::report
