#include "inspect/inspect.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "stats.hpp"
#include "store/store.hpp"

namespace sweep::inspect {

namespace {

enum class Align { kLeft, kRight };

struct Column {
    std::string header;
    Align align;
};

// A plain-text table for a terminal or a Slurm log: each column as wide as its widest cell,
// two spaces between columns, counts right-aligned, every line indented by two spaces.
class Table {
public:
    explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

    void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }

    std::string render() const {
        std::vector<size_t> widths;
        for (const Column& column : columns_) widths.push_back(column.header.size());
        for (const auto& row : rows_) {
            for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
        }

        std::vector<std::string> headers;
        for (const Column& column : columns_) headers.push_back(column.header);
        std::string text = render_row(headers, widths);
        for (const auto& row : rows_) text += render_row(row, widths);
        return text;
    }

private:
    std::string render_row(const std::vector<std::string>& cells,
                           const std::vector<size_t>& widths) const {
        std::string line;
        for (size_t i = 0; i < cells.size(); ++i) {
            const bool right = columns_[i].align == Align::kRight;
            line += right ? fmt::format("  {:>{}}", cells[i], widths[i])
                          : fmt::format("  {:<{}}", cells[i], widths[i]);
        }
        line.erase(line.find_last_not_of(' ') + 1);  // a padded last column ends in spaces
        return line + "\n";
    }

    std::vector<Column> columns_;
    std::vector<std::vector<std::string>> rows_;
};

// 27000000 as "27,000,000".
std::string grouped(int64_t count) {
    std::string digits = std::to_string(count < 0 ? -count : count);
    for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) digits.insert(at, ",");
    return count < 0 ? "-" + digits : digits;
}

// A duration a person plans around: seconds below two minutes, minutes below two hours.
std::string duration(double seconds) {
    if (seconds < 120) return fmt::format("{:.0f} s", seconds);
    if (seconds < 7200) return fmt::format("{:.0f} min", seconds / 60);
    return fmt::format("{:.1f} h", seconds / 3600);
}

std::string worker_hours(double seconds) {
    return fmt::format("{:.2f}", seconds / 3600);
}

// train_size and test_size are written "all" when they are 0.
std::string split_size(int64_t size) {
    return size > 0 ? std::to_string(size) : "all";
}

// The columns naming a setting. train and test only appear when some unit takes a subset,
// since otherwise they would say "all" on every row.
struct SettingColumns {
    bool subsets = false;

    explicit SettingColumns(const std::vector<plan::Unit>& units) {
        for (const plan::Unit& unit : units) {
            if (unit.train_size > 0 || unit.test_size > 0) subsets = true;
        }
    }

    std::vector<Column> headers() const {
        std::vector<Column> columns = {{"dataset", Align::kLeft},  {"optimizer", Align::kLeft},
                                       {"lr", Align::kLeft},       {"gamma", Align::kLeft},
                                       {"momentum", Align::kLeft}, {"epsilon", Align::kLeft},
                                       {"epochs", Align::kRight},  {"batch", Align::kRight}};
        if (subsets)
            columns.insert(columns.end(), {{"train", Align::kRight}, {"test", Align::kRight}});
        return columns;
    }

    std::vector<std::string> cells(const plan::Unit& unit) const {
        std::vector<std::string> cells = {unit.dataset,
                                          unit.optimizer,
                                          fmt::format("{}", unit.lr),
                                          fmt::format("{}", unit.gamma),
                                          fmt::format("{}", unit.momentum),
                                          fmt::format("{}", unit.epsilon),
                                          std::to_string(unit.epochs),
                                          std::to_string(unit.batch_size)};
        if (subsets)
            cells.insert(cells.end(), {split_size(unit.train_size), split_size(unit.test_size)});
        return cells;
    }
};

// Units grouped by a key, groups in order of first appearance, units in plan order.
template <typename Key>
std::vector<std::vector<plan::Unit>> group_units(const std::vector<plan::Unit>& units, Key key) {
    std::vector<std::vector<plan::Unit>> groups;
    std::map<std::string, size_t> position;
    for (const plan::Unit& unit : units) {
        const auto [found, inserted] = position.emplace(key(unit), groups.size());
        if (inserted) groups.emplace_back();
        groups[found->second].push_back(unit);
    }
    return groups;
}

std::vector<std::vector<plan::Unit>> by_setting(const std::vector<plan::Unit>& units) {
    return group_units(units, [](const plan::Unit& unit) { return unit.setting_key(); });
}

std::vector<std::vector<plan::Unit>> by_dataset(const std::vector<plan::Unit>& units) {
    return group_units(units, [](const plan::Unit& unit) { return unit.dataset; });
}

// What the output file holds, as `sweep run` would find it.
struct OutputState {
    std::string line;                   // for the "output" line of the plan
    std::vector<plan::Unit> remaining;  // pending units of a resumable file
    bool resumable = false;
};

OutputState read_output_state(const plan::Study& study) {
    OutputState state;
    try {
        const std::string stored_hash = store::stored_plan_hash(study.output);
        if (stored_hash.empty()) {
            state.line = fmt::format("{} (not there yet; `sweep run` creates it)", study.output);
            return state;
        }
        if (stored_hash != study.plan_hash()) {
            state.line = fmt::format(
                "{} exists but was made from a different plan (plan hash {}, this study's is "
                "{}); `sweep run` would refuse it: choose another output with -o",
                study.output, stored_hash, study.plan_hash());
            return state;
        }

        const std::vector<store::Status> status = store::ResultReader(study.output).status();
        size_t done = 0, failed = 0;
        for (size_t i = 0; i < status.size() && i < study.units.size(); ++i) {
            if (status[i] == store::Status::kDone) ++done;
            if (status[i] == store::Status::kFailed) ++failed;
            if (status[i] == store::Status::kPending) state.remaining.push_back(study.units[i]);
        }
        state.resumable = true;
        state.line = fmt::format("{} (exists, same plan: {} done, {} failed, {} pending)",
                                 study.output, done, failed, state.remaining.size());
    } catch (const StoreError& error) {
        state.line = fmt::format("cannot be resumed: {}", error.what());
    }
    return state;
}

std::string dataset_table(const std::vector<plan::Unit>& units) {
    Table table({{"dataset", Align::kLeft},
                 {"settings", Align::kRight},
                 {"units", Align::kRight},
                 {"training images", Align::kRight},
                 {"worker-hours", Align::kRight}});
    for (const auto& units_of_dataset : by_dataset(units)) {
        const CostEstimate cost = estimate_cost(units_of_dataset, 1);
        table.add_row({units_of_dataset.front().dataset,
                       std::to_string(by_setting(units_of_dataset).size()),
                       std::to_string(units_of_dataset.size()), grouped(cost.training_images),
                       worker_hours(cost.worker_seconds)});
    }
    return table.render();
}

std::string setting_table(const std::vector<plan::Unit>& units) {
    const SettingColumns setting(units);
    std::vector<Column> columns = setting.headers();
    columns.push_back({"seeds", Align::kRight});
    Table table(columns);
    // The plan refuses duplicate units, so a setting's units differ in their seed alone.
    for (const auto& units_of_setting : by_setting(units)) {
        std::vector<std::string> cells = setting.cells(units_of_setting.front());
        cells.push_back(std::to_string(units_of_setting.size()));
        table.add_row(cells);
    }
    return table.render();
}

std::string unit_table(const std::vector<plan::Unit>& units) {
    const SettingColumns setting(units);
    std::vector<Column> columns = {{"index", Align::kRight}, {"id", Align::kLeft}};
    for (const Column& column : setting.headers()) columns.push_back(column);
    columns.push_back({"seed", Align::kRight});
    Table table(columns);
    for (const plan::Unit& unit : units) {
        std::vector<std::string> cells = {std::to_string(unit.index), unit.id()};
        for (std::string& cell : setting.cells(unit)) cells.push_back(std::move(cell));
        cells.push_back(std::to_string(unit.seed));
        table.add_row(cells);
    }
    return table.render();
}

std::string cost_section(const plan::Study& study, const OutputState& output, int workers) {
    const CostEstimate cost = estimate_cost(study.units, workers);
    std::string text = "cost estimate (training only, on CPU workers)\n";
    text += fmt::format("  training images  {} (sum over units of epochs x training images)\n",
                        grouped(cost.training_images));
    text += fmt::format(
        "  throughput       {} images/s per worker on 28x28 images; a cifar10 "
        "image costs {}x as much\n",
        grouped(static_cast<int64_t>(kImagesPerSecond)), kColourImageCost);
    text += fmt::format("  worker time      {} worker-hours ({})\n",
                        worker_hours(cost.worker_seconds), duration(cost.worker_seconds));
    text += fmt::format(
        "  wall time        {} with {} worker{} (mpirun -n {}), units handed out "
        "in plan order\n",
        duration(cost.wall_seconds), workers, workers == 1 ? "" : "s", workers + 1);
    if (!output.resumable) return text;

    if (output.remaining.empty()) return text + "  left to train    nothing: no unit is pending\n";
    const CostEstimate left = estimate_cost(output.remaining, workers);
    text +=
        fmt::format("  left to train    {} pending units: {} worker-hours, {} with {} worker{}\n",
                    output.remaining.size(), worker_hours(left.worker_seconds),
                    duration(left.wall_seconds), workers, workers == 1 ? "" : "s");
    return text;
}

std::string status_table(const std::vector<plan::Unit>& units,
                         const std::vector<report::SettingSummary>& settings) {
    const SettingColumns setting(units);
    std::vector<Column> columns = setting.headers();
    columns.insert(columns.end(), {{"done", Align::kRight},
                                   {"pending", Align::kRight},
                                   {"failed", Align::kRight},
                                   {"mean test acc %", Align::kRight}});
    Table table(columns);
    for (const report::SettingSummary& summary : settings) {
        std::vector<std::string> cells = setting.cells(summary.setting);
        const bool any_done = !summary.done_units.empty();
        cells.insert(cells.end(), {std::to_string(summary.done_units.size()),
                                   std::to_string(summary.pending), std::to_string(summary.failed),
                                   any_done ? fmt::format("{:.3f}", summary.accuracy.mean) : "-"});
        table.add_row(cells);
    }
    return table.render();
}

// Every failed unit with where it ran and why it failed, in plan order.
std::string failed_section(const std::vector<plan::Unit>& units,
                           const std::vector<store::Status>& status,
                           const std::vector<store::Outcome>& outcomes) {
    std::string text;
    size_t failed = 0;
    for (size_t i = 0; i < units.size(); ++i) {
        if (status[i] != store::Status::kFailed) continue;
        const plan::Unit& unit = units[i];
        const store::Outcome& outcome = outcomes[i];
        ++failed;
        text += fmt::format(
            "  unit {} (id {}, seed {}): {} {} lr={} gamma={} momentum={} epsilon={} epochs={} "
            "batch={}\n",
            unit.index, unit.id(), unit.seed, unit.dataset, unit.optimizer, unit.lr, unit.gamma,
            unit.momentum, unit.epsilon, unit.epochs, unit.batch_size);
        text +=
            fmt::format("    rank {} on {}, {}: {}\n", outcome.rank, outcome.host, outcome.device,
                        outcome.error.empty() ? "(no error text)" : outcome.error);
    }
    if (failed == 0) return "failed units: none\n";
    return fmt::format("failed units ({})\n", failed) + text;
}

// "a (3 units), b (1 unit)": distinct values in order of first appearance, with their counts.
std::string counted(const std::vector<std::string>& values) {
    std::vector<std::pair<std::string, size_t>> counts;
    for (const std::string& value : values) {
        auto found = std::find_if(counts.begin(), counts.end(),
                                  [&](const auto& count) { return count.first == value; });
        if (found == counts.end()) {
            counts.emplace_back(value, 1);
        } else {
            ++found->second;
        }
    }
    if (counts.empty()) return "none yet";
    std::string text;
    for (const auto& [value, count] : counts) {
        if (!text.empty()) text += ", ";
        text += fmt::format("{} ({} unit{})", value, count, count == 1 ? "" : "s");
    }
    return text;
}

std::string total_section(const std::vector<store::Status>& status,
                          const std::vector<store::Outcome>& outcomes) {
    size_t done = 0, failed = 0;
    double seconds = 0;  // wall time of the units that ran, summed over workers
    std::vector<std::string> hosts, devices;
    for (size_t i = 0; i < status.size(); ++i) {
        if (status[i] == store::Status::kPending) continue;
        (status[i] == store::Status::kDone ? done : failed) += 1;
        seconds += outcomes[i].seconds;
        hosts.push_back(outcomes[i].host);
        devices.push_back(outcomes[i].device);
    }
    const size_t pending = status.size() - done - failed;

    std::string text =
        fmt::format("total    {} done, {} pending, {} failed of {} units; {:.1f} s of training",
                    done, pending, failed, status.size(), seconds);
    if (seconds >= 120) text += fmt::format(" ({})", duration(seconds));
    text += fmt::format("\nhosts    {}\ndevices  {}\n", counted(hosts), counted(devices));
    return text;
}

}  // namespace

int64_t official_train_size(const std::string& dataset) {
    if (dataset == "mnist" || dataset == "fashion-mnist") return 60000;
    if (dataset == "cifar10") return 50000;
    throw ConfigError(fmt::format("dataset: no official training size known for \"{}\"", dataset));
}

int64_t training_images(const plan::Unit& unit) {
    const int64_t per_epoch =
        unit.train_size > 0 ? unit.train_size : official_train_size(unit.dataset);
    return unit.epochs * per_epoch;
}

CostEstimate estimate_cost(const std::vector<plan::Unit>& units, int workers) {
    CostEstimate cost;
    // Rank 0 hands the next pending unit to whichever worker asks first, that is, to the one
    // that becomes free first.
    std::vector<double> free_at(static_cast<size_t>(std::max(workers, 1)), 0.0);
    for (const plan::Unit& unit : units) {
        const int64_t images = training_images(unit);
        const double image_cost = unit.dataset == "cifar10" ? kColourImageCost : 1.0;
        const double seconds = static_cast<double>(images) * image_cost / kImagesPerSecond;
        cost.training_images += images;
        cost.worker_seconds += seconds;
        *std::min_element(free_at.begin(), free_at.end()) += seconds;
    }
    cost.wall_seconds = *std::max_element(free_at.begin(), free_at.end());
    return cost;
}

std::string describe_plan(const plan::Study& study, const PlanOptions& options) {
    const OutputState output = read_output_state(study);
    std::string text = fmt::format("study   {} (from {})\n", study.name, study.source_path);
    text += fmt::format("output  {}\n", output.line);
    text += fmt::format("units   {} in {} settings\n\n", study.units.size(),
                        by_setting(study.units).size());

    text += "units per data set\n" + dataset_table(study.units) + "\n";
    text += "units per setting\n" + setting_table(study.units) + "\n";
    if (options.list_units) text += "units\n" + unit_table(study.units) + "\n";
    text += cost_section(study, output, options.workers);
    return text;
}

std::string describe_status(const std::string& result_path) {
    const store::ResultReader reader(result_path);
    const std::vector<plan::Unit> units = reader.units();
    const std::vector<store::Status> status = reader.status();
    const std::vector<store::Outcome> outcomes = reader.outcomes();
    if (status.size() != units.size() || outcomes.size() != units.size()) {
        throw StoreError(fmt::format("{}: holds {} units but {} statuses and {} outcomes",
                                     result_path, units.size(), status.size(), outcomes.size()));
    }

    std::vector<report::UnitOutcome> unit_outcomes;
    for (size_t i = 0; i < units.size(); ++i) {
        unit_outcomes.push_back({units[i], status[i] == store::Status::kDone,
                                 status[i] == store::Status::kFailed,
                                 outcomes[i].final_test_accuracy});
    }
    const std::vector<report::SettingSummary> settings = report::summarize_settings(unit_outcomes);

    std::string text =
        fmt::format("study    {} (plan hash {}, created {})\n", reader.attribute("study"),
                    reader.attribute("plan_hash"), reader.attribute("created_utc"));
    text += fmt::format("file     {}\n\n", result_path);
    text += "units per setting\n" + status_table(units, settings) + "\n";
    text += failed_section(units, status, outcomes) + "\n";
    text += total_section(status, outcomes);
    return text;
}

}  // namespace sweep::inspect
