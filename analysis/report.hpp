// Owns the report: reads a result file, summarizes it per setting, writes Markdown, CSV and
// figures. Needs the store's serial reader and gnuplot; knows nothing of MPI or Torch.
// Not shared across threads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "stats.hpp"

namespace sweep::report {

// The images in a data set's files, as the result file records them.
struct DatasetSize {
    int64_t train_count = 0;
    int64_t test_count = 0;
};
using DatasetSizes = std::map<std::string, DatasetSize>;  // by data set name

// "run on a subset: N training, M test images" when the setting trained or tested on fewer
// images than its data set's official splits (MNIST and Fashion-MNIST 60000 and 10000, CIFAR-10
// 50000 and 10000), because of train_size or test_size or smaller files; "" otherwise. A count
// the sizes do not know is written "all".
std::string subset_note(const plan::Unit& setting, const DatasetSizes& sizes);

// The per-setting table in the layout of published tables (dataset, optimizer, lr, gamma,
// momentum for SGD, epsilon, runs, best, mean, std), as Markdown with the subset notes as
// numbered footnotes, and as CSV with every parameter. Accuracies are in percent with three
// decimals; runs counts done units only.
std::string markdown_table(const std::vector<SettingSummary>& settings,
                           const DatasetSizes& sizes = {});
std::string csv_table(const std::vector<SettingSummary>& settings);

// Reads every unit's outcome from a result file.
std::vector<UnitOutcome> read_outcomes(const std::string& result_path);

// Writes DIR/report.md, its CSV tables (DIR/summary.csv and one per table of each data set) and
// its figures (DIR/figures/NAME.png, each with NAME.dat and NAME.gp), and returns the Markdown
// table. Throws StoreError when the file cannot be read, Error when gnuplot is missing or fails
// or DIR cannot be written.
std::string write_report(const std::string& result_path, const std::string& output_dir);

}  // namespace sweep::report
