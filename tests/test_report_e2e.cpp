// End-to-end: a real sweep on a Fashion-MNIST subset under mpirun, then its report, checked
// file by file and number by number against the result file.
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "figures.hpp"
#include "metrics.hpp"
#include "report.hpp"
#include "stats.hpp"
#include "store/store.hpp"

namespace fs = std::filesystem;
using sweep::plan::Unit;
using sweep::store::ResultReader;

namespace {

// Debian's dataset-fashion-mnist; scripts/test installs it.
const char* const kFashionDir = "/usr/share/datasets/fashion-mnist";

// Two settings without noise and one with ε = 0.5 that differs from the adam one only in ε:
// enough for every section of the report, in a few seconds on two cores.
const char* const kStudy = R"(study: report-e2e
defaults:
  dataset: fashion-mnist
  data_dir: /usr/share/datasets/fashion-mnist
  epochs: 2
  train_size: 2000
  test_size: 500
  momentum: 0.9
grids:
  - setting:
      - {optimizer: sgd, lr: 0.05, gamma: 0.5}
      - {optimizer: adam, lr: 0.002, gamma: 0}
    seed: [1, 2]
  - optimizer: adam
    lr: 0.002
    epsilon: [0.5]
    seed: [1, 2]
)";

const char* const kPngSignature = "\x89PNG\r\n\x1a\n";

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

// Runs a shell command with its output in log; returns the exit code.
int shell(const std::string& command, const fs::path& log) {
    const int status = std::system((command + " > " + log.string() + " 2>&1").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// One sweep and its report, made once per test process and shared by the sections below.
struct Sweep {
    fs::path dir;
    fs::path result;
    fs::path report;
    int sweep_code = -1;
    std::string sweep_log;

    Sweep() {
        dir = fs::temp_directory_path() / ("sweep-report-test-" + std::to_string(getpid()));
        fs::remove_all(dir);
        fs::create_directories(dir);
        std::ofstream(dir / "study.yaml") << kStudy;
        result = dir / "e2e.h5";
        report = dir / "report";

        std::string command = std::string(SWEEP_MPIEXEC) + " -n 3 --oversubscribe";
        if (geteuid() == 0) command += " --allow-run-as-root";  // Open MPI refuses root otherwise
        command += std::string(" ") + SWEEP_BINARY + " run " + (dir / "study.yaml").string() +
                   " -o " + result.string();
        sweep_code = shell(command, dir / "sweep.log");
        sweep_log = read_bytes(dir / "sweep.log");
        if (sweep_code == 0) sweep::report::write_report(result.string(), report.string());
    }
    ~Sweep() { fs::remove_all(dir); }
};

const Sweep& sweep_once() {
    static const Sweep sweep;
    return sweep;
}

// A CSV file as the report writes it: a header, then rows of plain fields (no quoting).
struct Csv {
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;

    explicit Csv(const fs::path& path) {
        std::istringstream lines(read_bytes(path));
        std::string line;
        while (std::getline(lines, line)) {
            std::vector<std::string> fields;
            std::istringstream cells(line);
            std::string cell;
            while (std::getline(cells, cell, ',')) fields.push_back(cell);
            if (header.empty()) {
                header = fields;
            } else {
                rows.push_back(fields);
            }
        }
    }
    const std::string& at(size_t row, const std::string& column) const {
        const auto found = std::find(header.begin(), header.end(), column);
        REQUIRE(found != header.end());
        return rows.at(row).at(static_cast<size_t>(found - header.begin()));
    }
    double number(size_t row, const std::string& column) const {
        return std::stod(at(row, column));
    }
};

// Final test accuracies in percent of the done units of each setting, in plan order.
struct Group {
    Unit setting;
    std::vector<int64_t> units;
    std::vector<double> accuracies;
};

std::vector<Group> groups_of(const ResultReader& reader) {
    const auto units = reader.units();
    const auto status = reader.status();
    const auto outcomes = reader.outcomes();
    std::vector<Group> groups;
    for (size_t i = 0; i < units.size(); ++i) {
        auto group = std::find_if(groups.begin(), groups.end(), [&](const Group& g) {
            return g.setting.setting_key() == units[i].setting_key();
        });
        if (group == groups.end()) group = groups.insert(groups.end(), {units[i], {}, {}});
        if (status[i] != sweep::store::Status::kDone) continue;
        group->units.push_back(units[i].index);
        group->accuracies.push_back(100 * outcomes[i].final_test_accuracy);
    }
    return groups;
}

// The unit the report's best-run sections show: the best run of the best setting without
// noise, both taken first in plan order on ties.
int64_t best_clean_unit(const std::vector<Group>& groups) {
    const Group* best = nullptr;
    double best_mean = 0;
    for (const Group& group : groups) {
        if (group.setting.epsilon != 0 || group.accuracies.empty()) continue;
        const double mean = sweep::report::summarize(group.accuracies).mean;
        if (!best || mean > best_mean) best = &group, best_mean = mean;
    }
    REQUIRE(best != nullptr);
    const auto top = std::max_element(best->accuracies.begin(), best->accuracies.end());
    return best->units[static_cast<size_t>(top - best->accuracies.begin())];
}

// Sets PATH for the life of the guard.
struct PathGuard {
    std::string saved;
    explicit PathGuard(const std::string& path) : saved(std::getenv("PATH")) {
        setenv("PATH", path.c_str(), 1);
    }
    ~PathGuard() { setenv("PATH", saved.c_str(), 1); }
};

}  // namespace

TEST_CASE(
    "report: a real sweep's report has every table and figure, with numbers that match "
    "the result file",
    "[report][mpi]") {
    REQUIRE(fs::exists(kFashionDir));  // install dataset-fashion-mnist (scripts/test does)
    const Sweep& sweep = sweep_once();
    INFO(sweep.sweep_log);
    REQUIRE(sweep.sweep_code == 0);
    const ResultReader reader(sweep.result.string());
    const std::vector<Group> groups = groups_of(reader);
    const fs::path& out = sweep.report;

    SECTION("every table and figure exists; each PNG is a PNG and keeps its data and script") {
        for (const char* table :
             {"summary", "fashion-mnist-confusion", "fashion-mnist-confused-pairs",
              "fashion-mnist-auc", "fashion-mnist-noise-counts", "fashion-mnist-epsilon"}) {
            INFO(table);
            REQUIRE(fs::file_size(out / (std::string(table) + ".csv")) > 0);
        }
        const size_t pairs = Csv(out / "fashion-mnist-confused-pairs.csv").rows.size();
        REQUIRE(pairs == 3);
        for (const char* figure :
             {"fashion-mnist-curves", "fashion-mnist-mean-curves", "fashion-mnist-confusion",
              "fashion-mnist-confused-1", "fashion-mnist-confused-2", "fashion-mnist-confused-3",
              "fashion-mnist-roc", "fashion-mnist-noise-counts", "fashion-mnist-epsilon"}) {
            INFO(figure);
            const fs::path stem = out / "figures" / figure;
            REQUIRE(read_bytes(stem.string() + ".png").rfind(kPngSignature, 0) == 0);
            REQUIRE(fs::file_size(stem.string() + ".dat") > 0);
            REQUIRE(fs::file_size(stem.string() + ".gp") > 0);
            REQUIRE(!fs::exists(stem.string() + ".log"));  // gnuplot had nothing to complain of
        }
    }

    SECTION("report.md links only files that exist and flags the subset") {
        const std::string markdown = read_bytes(out / "report.md");
        REQUIRE_THAT(markdown, Catch::Contains("run on a subset: 2000 training, 500 test images"));
        REQUIRE_THAT(markdown, Catch::Contains("6 of 6 units done, 0 failed, 0 pending"));
        size_t links = 0;
        for (size_t at = markdown.find("]("); at != std::string::npos;
             at = markdown.find("](", at + 2)) {
            const size_t end = markdown.find(')', at);
            const std::string target = markdown.substr(at + 2, end - at - 2);
            INFO(target);
            REQUIRE(fs::exists(out / target));
            ++links;
        }
        REQUIRE(links >= 15);
    }

    SECTION("summary.csv holds each setting's runs, best, mean and std over its seeds") {
        const Csv summary(out / "summary.csv");
        REQUIRE(summary.rows.size() == groups.size());
        for (size_t i = 0; i < groups.size(); ++i) {
            const sweep::report::Summary expected = sweep::report::summarize(groups[i].accuracies);
            INFO("setting " << groups[i].setting.setting_key());
            REQUIRE(summary.at(i, "optimizer") == groups[i].setting.optimizer);
            REQUIRE(summary.number(i, "epsilon") == groups[i].setting.epsilon);
            REQUIRE(summary.number(i, "runs") == 2);
            REQUIRE(summary.number(i, "best_percent") == Approx(expected.best).margin(5e-4));
            REQUIRE(summary.number(i, "mean_percent") == Approx(expected.mean).margin(5e-4));
            REQUIRE(summary.number(i, "std_percent") == Approx(expected.std).margin(5e-4));
        }
    }

    SECTION("the noise table holds the mean and std of the final accuracy per epsilon") {
        const Csv noise(out / "fashion-mnist-epsilon.csv");
        REQUIRE(noise.rows.size() == 2);
        for (size_t row = 0; row < 2; ++row) {
            const double epsilon = noise.number(row, "epsilon");
            REQUIRE(epsilon == (row == 0 ? 0.0 : 0.5));
            const auto group = std::find_if(groups.begin(), groups.end(), [&](const Group& g) {
                return g.setting.optimizer == "adam" && g.setting.epsilon == epsilon;
            });
            REQUIRE(group != groups.end());
            const auto expected = sweep::report::summarize(group->accuracies);
            REQUIRE(noise.number(row, "mean_percent") == Approx(expected.mean).margin(5e-4));
            REQUIRE(noise.number(row, "std_percent") == Approx(expected.std).margin(5e-4));
        }
    }

    SECTION("the AUC table, confused pairs and noise counts come from the right runs") {
        const int64_t best = best_clean_unit(groups);
        const sweep::store::UnitData run = reader.unit_data(best);
        const sweep::store::DatasetInfo fashion = reader.dataset("fashion-mnist");
        const std::vector<uint8_t> labels(fashion.test_labels.begin(),
                                          fashion.test_labels.begin() + 500);
        REQUIRE(run.predictions.size() == 500);

        const Csv auc(out / "fashion-mnist-auc.csv");
        REQUIRE(auc.rows.size() == 12);
        for (int c = 0; c < 10; ++c) {
            INFO("class " << c);
            REQUIRE(auc.at(size_t(c), "class_name") == fashion.class_names[size_t(c)]);
            const double expected = sweep::report::one_vs_rest(run.scores, labels, 10, c).auc;
            REQUIRE(auc.number(size_t(c), "auc") == Approx(expected).margin(1e-6));
        }
        REQUIRE(auc.at(10, "curve") == "micro");
        REQUIRE(auc.number(10, "auc") ==
                Approx(sweep::report::micro_roc(run.scores, labels, 10).auc).margin(1e-6));
        REQUIRE(auc.at(11, "curve") == "macro");
        REQUIRE(auc.number(11, "auc") ==
                Approx(sweep::report::macro_auc(run.scores, labels, 10)).margin(1e-6));

        const Csv pairs(out / "fashion-mnist-confused-pairs.csv");
        const auto expected = sweep::report::most_confused_pairs(run.confusion, 10, 3);
        REQUIRE(pairs.rows.size() == expected.size());
        for (size_t k = 0; k < expected.size(); ++k) {
            REQUIRE(pairs.number(k, "true_class") == expected[k].true_class);
            REQUIRE(pairs.number(k, "predicted_class") == expected[k].predicted_class);
            REQUIRE(pairs.number(k, "count") == expected[k].count);
            REQUIRE(pairs.number(k, "rate") == Approx(expected[k].rate).margin(1e-6));
        }

        // The first unit with ε = 0.5 in plan order: index 4 (seed 1 of the second grid).
        const auto units = reader.units();
        REQUIRE(units[4].epsilon == 0.5);
        const std::vector<int64_t> counts = reader.unit_data(4).noise_counts;
        const Csv noise(out / "fashion-mnist-noise-counts.csv");
        REQUIRE(noise.rows.size() == 10);
        for (size_t row = 0; row < 10; ++row) {
            for (size_t column = 0; column < 10; ++column) {
                REQUIRE(noise.number(row, fashion.class_names[column]) ==
                        counts[row * 10 + column]);
            }
        }
    }

    SECTION("the sweep-report binary writes the same report beside the result file") {
        const std::string command = std::string(SWEEP_REPORT_BINARY) + " " + sweep.result.string();
        REQUIRE(shell(command, sweep.dir / "report.log") == 0);
        const fs::path beside = sweep.dir / "e2e";
        REQUIRE(read_bytes(beside / "report.md") == read_bytes(out / "report.md"));
        REQUIRE(read_bytes(beside / "fashion-mnist-auc.csv") ==
                read_bytes(out / "fashion-mnist-auc.csv"));
    }
}

TEST_CASE("report: a file whose units all failed, named without .h5, is reported beside it",
          "[report]") {
    REQUIRE(fs::exists(kFashionDir));
    const fs::path scratch =
        fs::temp_directory_path() / ("sweep-report-allfail-" + std::to_string(getpid()));
    fs::remove_all(scratch);
    fs::create_directories(scratch);
    std::ofstream(scratch / "study.yaml") << "study: allfail\n"
                                             "grid: {dataset: fashion-mnist, data_dir: "
                                          << kFashionDir
                                          << ", train_size: 640, test_size: 100, epochs: 1, "
                                             "optimizer: sgd, lr: 1e30}\n";
    const std::string run = std::string(SWEEP_BINARY) + " run " +
                            (scratch / "study.yaml").string() + " -o " +
                            (scratch / "allfail.h5").string();
    REQUIRE(shell(run, scratch / "sweep.log") == 7);  // the one unit diverges and fails
    fs::rename(scratch / "allfail.h5", scratch / "allfail");

    // used to fail with "cannot create the report directory: Not a directory"
    const std::string report =
        std::string(SWEEP_REPORT_BINARY) + " " + (scratch / "allfail").string();
    const int code = shell(report, scratch / "report.log");
    INFO(read_bytes(scratch / "report.log"));
    REQUIRE(code == 0);
    REQUIRE(fs::exists(scratch / "allfail.report" / "report.md"));
    // used to advise a plain rerun, which skips failed units
    REQUIRE_THAT(read_bytes(scratch / "report.log"),
                 Catch::Contains("rerun sweep run with --retry-failed to train the failed units"));

    // a directory used to get HDF5's whole error stack
    const std::string directory = std::string(SWEEP_REPORT_BINARY) + " " + scratch.string();
    REQUIRE(shell(directory, scratch / "directory.log") == 5);
    REQUIRE_THAT(read_bytes(scratch / "directory.log"),
                 Catch::Contains(": is a directory, not a result file"));
    fs::remove_all(scratch);
}

TEST_CASE("report: without gnuplot the report fails first, naming the package", "[report]") {
    const fs::path scratch =
        fs::temp_directory_path() / ("sweep-report-nognuplot-" + std::to_string(getpid()));
    fs::create_directories(scratch / "bin");
    const std::string message = "gnuplot: not found; install the Debian package gnuplot-nox";
    {
        const PathGuard path((scratch / "bin").string());
        REQUIRE_THROWS_WITH(sweep::report::require_gnuplot(), message);
        REQUIRE_THROWS_WITH(
            sweep::report::write_report((scratch / "none.h5").string(), (scratch / "out").string()),
            message);
    }
    REQUIRE(!fs::exists(scratch / "out"));
    fs::remove_all(scratch);
}

TEST_CASE("report: labels from the result file stay text in gnuplot scripts", "[report]") {
    // A class name that would end a naively quoted string and run a shell command.
    const fs::path scratch =
        fs::temp_directory_path() / ("sweep-report-quoting-" + std::to_string(getpid()));
    fs::create_directories(scratch);
    const std::string hostile =
        "a\"; system(\"touch " + (scratch / "owned").string() + "\"); \"'\\";
    const sweep::report::Figure figure{scratch, "quoting", "title \" with\nnewline"};
    sweep::report::plot_heat_map(figure, {{hostile, "b"}, {1, 0, 0, 1}, "row", "column", "v", 0});
    REQUIRE(read_bytes(scratch / "quoting.png").rfind(kPngSignature, 0) == 0);
    REQUIRE(!fs::exists(scratch / "owned"));
    fs::remove_all(scratch);
}

TEST_CASE("report: three-channel images are drawn in colour", "[report]") {
    const fs::path scratch =
        fs::temp_directory_path() / ("sweep-report-rgb-" + std::to_string(getpid()));
    fs::create_directories(scratch);
    std::vector<uint8_t> image(3 * 4 * 4, 0);
    std::fill(image.begin(), image.begin() + 16, uint8_t{255});  // the red plane
    const sweep::report::ImageStrip strip{3, 4, 4, {image, image}, {"#0", "#1"}};
    sweep::report::plot_image_strip({scratch, "rgb", "cat→dog"}, strip);
    REQUIRE(read_bytes(scratch / "rgb.png").rfind(kPngSignature, 0) == 0);
    REQUIRE_THAT(read_bytes(scratch / "rgb.gp"), Catch::Contains("rgbimage"));
    REQUIRE_THAT(read_bytes(scratch / "rgb.dat"), Catch::Contains("0 0 255 0 0\n"));
    fs::remove_all(scratch);
}
