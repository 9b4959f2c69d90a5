// `sweep plan` and `sweep status`: the tables they print, on parsed studies and on a result file
// made by the real sweep binary from a small subset of Fashion-MNIST.
#include <fmt/format.h>
#include <hdf5.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include "support.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "inspect/inspect.hpp"
#include "plan/plan.hpp"
#include "store/store.hpp"

namespace fs = std::filesystem;
using sweep::inspect::describe_plan;
using sweep::inspect::describe_status;
using sweep::inspect::PlanOptions;

namespace {

// Debian's dataset-fashion-mnist; scripts/test installs it.
const char* const kFashionDir = "/usr/share/datasets/fashion-mnist";

// Round numbers at 14000 images/s: each mnist unit trains 21 x 60000 images in 90 s, each
// cifar10 unit 6 x 25000 images, which cost 1.4x as much, in 15 s.
const char* const kCostStudy = R"(study: costs
defaults: {epochs: 21}
grids:
  - dataset: mnist
    setting:
      - {optimizer: sgd, lr: 0.01, momentum: 0.9}
      - {optimizer: adam, lr: 0.001}
    seed: [1, 2, 3]
  - dataset: cifar10
    optimizer: adam
    lr: 0.001
    epochs: 6
    train_size: 25000
    seed: [1, 2]
)";

// Two units of one setting that train, and one whose loss overflows, so that it fails.
const char* const kTinyStudy = R"(study: tiny
defaults:
  dataset: fashion-mnist
  data_dir: /usr/share/datasets/fashion-mnist
  train_size: 640
  test_size: 100
  epochs: 1
grids:
  - {optimizer: adam, lr: 0.001, seed: [1, 2]}
  - {optimizer: sgd, lr: 1e30, seed: [1]}
)";

using sweep::testing::Scratch;

const Scratch& scratch() {
    static const Scratch kScratch;
    return kScratch;
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

struct Outcome {
    int code;
    std::string output;
};

// Runs the sweep binary as one process, returning its exit code and what it printed.
Outcome sweep_binary(const std::string& arguments, const std::string& log_name) {
    const fs::path log = scratch().dir / log_name;
    const std::string command =
        std::string(SWEEP_BINARY) + " " + arguments + " > " + log.string() + " 2>&1";
    const int status = std::system(command.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : 128, read_text(log)};
}

sweep::plan::Study cost_study() {
    sweep::plan::Study study = sweep::plan::parse_study(kCostStudy, "costs.yaml");
    study.output = (scratch().dir / "not-there.h5").string();
    return study;
}

// The tiny study's result file, trained once for every test that reads it.
const fs::path& tiny_result() {
    static const fs::path kResult = [] {
        const fs::path study = scratch().write("tiny.yaml", kTinyStudy);
        const fs::path result = scratch().dir / "tiny.h5";
        const Outcome run =
            sweep_binary("run " + study.string() + " -o " + result.string(), "tiny-run.log");
        INFO(run.output);
        REQUIRE(run.code == sweep::kExitUnitsFailed);  // the diverging unit
        return result;
    }();
    return kResult;
}

}  // namespace

TEST_CASE("inspect: the cost estimate counts epochs x training images per unit", "[inspect]") {
    const sweep::plan::Study study = cost_study();
    REQUIRE(sweep::inspect::training_images(study.units[0]) == 21 * 60000);
    REQUIRE(sweep::inspect::training_images(study.units[6]) == 6 * 25000);

    const auto two = sweep::inspect::estimate_cost(study.units, 2);
    REQUIRE(two.training_images == 6 * 21 * 60000 + 2 * 6 * 25000);
    REQUIRE(two.worker_seconds == Approx(6 * 90 + 2 * 15));
    REQUIRE(two.wall_seconds == Approx(3 * 90 + 15));  // the workers alternate

    // Three workers take two mnist units each, then two of them one cifar10 unit.
    REQUIRE(sweep::inspect::estimate_cost(study.units, 3).wall_seconds == Approx(2 * 90 + 15));
    REQUIRE(sweep::inspect::estimate_cost({}, 2).wall_seconds == 0);
}

TEST_CASE("inspect: plan counts units per data set and per setting, with their seeds",
          "[inspect]") {
    const std::string text = describe_plan(cost_study(), PlanOptions{});
    INFO(text);
    REQUIRE_THAT(text, Catch::StartsWith("study   costs (from costs.yaml)\n"));
    REQUIRE_THAT(text, Catch::Contains("not-there.h5 (not there yet; `sweep run` creates it)"));
    REQUIRE_THAT(text, Catch::Contains("units   8 in 3 settings\n"));
    REQUIRE_THAT(text,
                 Catch::Contains("units per data set\n"
                                 "  dataset  settings  units  training images  worker-hours\n"
                                 "  mnist           2      6        7,560,000          0.15\n"
                                 "  cifar10         1      2          300,000          0.01\n"));
    REQUIRE_THAT(text,
                 Catch::Contains(
                     "units per setting\n"
                     "  dataset  optimizer  lr     gamma  momentum  epsilon  epochs  batch  train"
                     "  test  seeds\n"
                     "  mnist    sgd        0.01   0      0.9       0            21     64    all"
                     "   all      3\n"
                     "  mnist    adam       0.001  0      0         0            21     64    all"
                     "   all      3\n"
                     "  cifar10  adam       0.001  0      0         0             6     64  25000"
                     "   all      2\n"));
    REQUIRE_THAT(text, Catch::Contains("  training images  7,860,000 "));
    REQUIRE_THAT(text, Catch::Contains("  worker time      0.16 worker-hours (10 min)\n"));
    REQUIRE_THAT(text, Catch::Contains("  wall time        5 min with 2 workers (mpirun -n 3)"));
    REQUIRE_THAT(text, !Catch::Contains(cost_study().units[0].id()));
}

TEST_CASE("inspect: plan --units lists every unit with its id and seed", "[inspect]") {
    const sweep::plan::Study study = cost_study();
    PlanOptions options;
    options.list_units = true;
    options.workers = 3;
    const std::string text = describe_plan(study, options);
    INFO(text);
    REQUIRE_THAT(text,
                 Catch::Contains("\nunits\n  index  id                dataset  optimizer  lr  "));
    for (const sweep::plan::Unit& unit : study.units) {
        REQUIRE_THAT(text, Catch::Contains(fmt::format("  {}  {}  ", unit.index, unit.id())));
    }
    REQUIRE_THAT(text, Catch::Contains(fmt::format("      7  {}  cifar10  adam       0.001  0     "
                                                   " 0         0             6     64  25000   "
                                                   "all     2\n",
                                                   study.units[7].id())));
    REQUIRE_THAT(text, Catch::Contains("  wall time        3 min with 3 workers (mpirun -n 4)"));
}

TEST_CASE("inspect: plan counts what its output file holds, or names its other plan", "[inspect]") {
    REQUIRE(fs::exists(kFashionDir));  // install dataset-fashion-mnist (scripts/test does)
    sweep::plan::Study same = sweep::plan::parse_study(kTinyStudy, "tiny.yaml");
    same.output = tiny_result().string();
    const std::string resumable = describe_plan(same, PlanOptions{});
    INFO(resumable);
    REQUIRE_THAT(resumable, Catch::Contains(" (exists, same plan: 2 done, 1 failed, 0 pending)"));

    std::string changed = kTinyStudy;
    changed.replace(changed.find("seed: [1, 2]"), 12, "seed: [1, 3]");
    sweep::plan::Study other = sweep::plan::parse_study(changed, "other.yaml");
    other.output = tiny_result().string();
    const std::string refused = describe_plan(other, PlanOptions{});
    INFO(refused);
    REQUIRE_THAT(refused, Catch::Contains(fmt::format(
                              "{} exists but was made from a different plan (plan hash {}, this "
                              "study's is {}); `sweep run` would refuse it",
                              tiny_result().string(), same.plan_hash(), other.plan_hash())));
}

TEST_CASE("inspect: status counts units per setting and averages the done ones", "[inspect]") {
    REQUIRE(fs::exists(kFashionDir));
    const std::string text = describe_status(tiny_result().string());
    INFO(text);

    const sweep::store::ResultReader reader(tiny_result().string());
    const auto outcomes = reader.outcomes();
    // The same sum in the same order as the report's statistics, in percent.
    const double mean =
        (100 * outcomes[0].final_test_accuracy + 100 * outcomes[1].final_test_accuracy) / 2;
    REQUIRE_THAT(text, Catch::StartsWith(fmt::format("study    tiny (plan hash {}, created ",
                                                     reader.attribute("plan_hash"))));
    REQUIRE_THAT(text, Catch::Contains(fmt::format("  fashion-mnist  adam       0.001  0      0 "
                                                   "        0             1     64    640   100  "
                                                   "   2        0       0  {:>15.3f}\n",
                                                   mean)));
    REQUIRE_THAT(text, Catch::Contains(fmt::format("  fashion-mnist  sgd        1e+30  0      0 "
                                                   "        0             1     64    640   100  "
                                                   "   0        0       1  {:>15}\n",
                                                   "-")));
    REQUIRE_THAT(text, Catch::Contains("failed units (1)\n  unit 2 (id "));
    REQUIRE_THAT(text, Catch::Contains("seed 1): fashion-mnist sgd lr=1e+30 gamma=0"));
    REQUIRE_THAT(text, Catch::Contains(fmt::format("    rank 0 on {}, {}: {}\n", outcomes[2].host,
                                                   outcomes[2].device, outcomes[2].error)));
    REQUIRE_THAT(text, Catch::Contains("total    2 done, 0 pending, 1 failed of 3 units; "));
    REQUIRE_THAT(text, Catch::Contains(fmt::format("hosts    {} (3 units)\n", outcomes[0].host)));
}

TEST_CASE("inspect: status of a file that is not a sweep result is a StoreError", "[inspect]") {
    const fs::path text_file = scratch().write("notes.h5", "not HDF5 at all\n");
    REQUIRE_THROWS_AS(describe_status(text_file.string()), sweep::StoreError);

    const fs::path empty_hdf5 = scratch().dir / "empty.h5";
    const hid_t file = H5Fcreate(empty_hdf5.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    REQUIRE(file >= 0);
    H5Fclose(file);
    REQUIRE_THROWS_WITH(describe_status(empty_hdf5.string()),
                        Catch::Contains("not a sweep result file"));
    REQUIRE_THROWS_AS(describe_status(empty_hdf5.string()), sweep::StoreError);
    REQUIRE_THROWS_WITH(describe_status((scratch().dir / "missing.h5").string()),
                        Catch::Contains("missing.h5: no such file"));
}

TEST_CASE("inspect: the binary exits 3 on a bad study and 5 on a bad result file", "[inspect]") {
    const fs::path bad = scratch().write(
        "bad.yaml", "study: bad\ngrid: {dataset: fashion-mnist, optimizer: sgd, lr: -1}\n");
    const Outcome plan = sweep_binary("plan " + bad.string(), "bad-plan.log");
    INFO(plan.output);
    REQUIRE(plan.code == sweep::kExitConfig);
    REQUIRE_THAT(plan.output, Catch::Contains("bad.yaml:2:"));
    REQUIRE_THAT(plan.output, Catch::Contains("lr"));

    const fs::path good = scratch().write("good.yaml", kCostStudy);
    const Outcome listed = sweep_binary(
        "plan " + good.string() + " --units -o " + (scratch().dir / "none.h5").string(),
        "good-plan.log");
    INFO(listed.output);
    REQUIRE(listed.code == 0);
    REQUIRE_THAT(listed.output, Catch::Contains("units   8 in 3 settings"));
    REQUIRE(!fs::exists(scratch().dir / "none.h5"));  // a dry run writes nothing

    const fs::path not_sweep = scratch().write("not-sweep.h5", "plain text\n");
    const Outcome status = sweep_binary("status " + not_sweep.string(), "bad-status.log");
    INFO(status.output);
    REQUIRE(status.code == sweep::kExitStore);
    REQUIRE_THAT(status.output, Catch::Contains("not-sweep.h5"));
}

// A rerun that skips a failed unit used to exit 0, as if the study were complete.
TEST_CASE("inspect: a rerun that skips failed units still exits 7 and says how to retry",
          "[inspect]") {
    const fs::path copy = scratch().dir / "rerun.h5";
    fs::copy_file(tiny_result(), copy, fs::copy_options::overwrite_existing);
    const fs::path study = scratch().dir / "tiny.yaml";
    const Outcome rerun =
        sweep_binary("run " + study.string() + " -o " + copy.string(), "rerun.log");
    INFO(rerun.output);
    REQUIRE(rerun.code == sweep::kExitUnitsFailed);
    REQUIRE_THAT(rerun.output, Catch::Contains("0 trained, 0 failed"));
    REQUIRE_THAT(rerun.output, Catch::Contains("1 unit(s) failed in an earlier run and were "
                                               "skipped; rerun with --retry-failed"));
}

// A 300-character result name used to end run with std::filesystem's own error (exit 1), and
// status said "no such file".
TEST_CASE("inspect: a result name too long for the file system is named as such", "[inspect]") {
    const std::string name = (scratch().dir / (std::string(300, 'x') + ".h5")).string();
    const fs::path study = scratch().dir / "tiny.yaml";
    scratch().write("tiny.yaml", kTinyStudy);
    const Outcome run = sweep_binary("run " + study.string() + " -o " + name, "long-run.log");
    INFO(run.output);
    REQUIRE(run.code == sweep::kExitStore);
    REQUIRE_THAT(run.output, Catch::Contains("File name too long"));
    const Outcome status = sweep_binary("status " + name, "long-status.log");
    INFO(status.output);
    REQUIRE(status.code == sweep::kExitStore);
    REQUIRE_THAT(status.output, Catch::Contains(".h5: File name too long"));
}
