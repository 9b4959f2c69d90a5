#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "plan/plan.hpp"

using sweep::ConfigError;
using sweep::plan::parse_study;

namespace {

const char* const kStudy = R"(study: demo
output: results/demo.h5
defaults: {epochs: 2, momentum: 0.9}
grids:
  - dataset: [mnist, fashion-mnist]
    setting:
      - {optimizer: sgd, lr: 0.001, gamma: 0.9}
      - {optimizer: adam, lr: 1e-2, gamma: 0}
    seed: [1, 2, 3]
  - dataset: fashion-mnist
    optimizer: adam
    lr: 0.01
    epsilon: [0.2, 0.5]
    seed: [1]
)";

// The message of the ConfigError that parsing `text` throws.
std::string error_of(const std::string& text) {
    try {
        parse_study(text, "bad.yaml");
    } catch (const ConfigError& error) {
        return error.what();
    }
    FAIL("no ConfigError for:\n" << text);
    return "";
}

}  // namespace

TEST_CASE("plan: lists cross, bundles go together, the first key varies slowest", "[plan]") {
    const auto study = parse_study(kStudy, "demo.yaml");
    REQUIRE(study.name == "demo");
    REQUIRE(study.output == "results/demo.h5");
    REQUIRE(study.units.size() == 2 * 2 * 3 + 2);

    const auto& first = study.units[0];
    REQUIRE(first.dataset == "mnist");
    REQUIRE(first.optimizer == "sgd");
    REQUIRE(first.lr == 0.001);
    REQUIRE(first.gamma == 0.9);
    REQUIRE(first.seed == 1);
    REQUIRE(first.epochs == 2);
    REQUIRE(first.momentum == 0.9);
    REQUIRE(first.batch_size == 64);
    REQUIRE(first.test_batch_size == 1000);
    REQUIRE(study.units[1].seed == 2);
    REQUIRE(study.units[3].optimizer == "adam");
    REQUIRE(study.units[3].lr == 0.01);
    REQUIRE(study.units[6].dataset == "fashion-mnist");
    REQUIRE(study.units[13].epsilon == 0.5);
    for (size_t i = 0; i < study.units.size(); ++i) REQUIRE(study.units[i].index == int64_t(i));
}

TEST_CASE("plan: the same file expands to the same ids and plan hash", "[plan]") {
    const auto a = parse_study(kStudy, "a.yaml");
    const auto b = parse_study(std::string("# a comment\n") + kStudy, "b.yaml");
    REQUIRE(a.plan_hash() == b.plan_hash());
    for (size_t i = 0; i < a.units.size(); ++i) REQUIRE(a.units[i].id() == b.units[i].id());
    REQUIRE(a.units[0].id().size() == 16);
    REQUIRE(a.units[0].id() != a.units[1].id());

    std::string changed = kStudy;
    changed.replace(changed.find("seed: [1, 2, 3]"), 15, "seed: [1, 2, 4]");
    REQUIRE(parse_study(changed, "c.yaml").plan_hash() != a.plan_hash());
}

TEST_CASE("plan: a setting is every parameter but the seed", "[plan]") {
    const auto study = parse_study(kStudy, "demo.yaml");
    REQUIRE(study.units[0].setting_key() == study.units[1].setting_key());
    REQUIRE(study.units[0].setting_key() != study.units[3].setting_key());
    REQUIRE(study.units[0].identity() != study.units[1].identity());
}

TEST_CASE("plan: numbers are read as YAML 1.2 reads them", "[plan]") {
    const auto study = parse_study(
        "study: s\ngrid: {dataset: mnist, optimizer: sgd, lr: 1e-3, seed: [010, +7]}\n", "s");
    REQUIRE(study.units[0].lr == 0.001);
    REQUIRE(study.units[0].seed == 10);  // never octal 8
    REQUIRE(study.units[1].seed == 7);
}

TEST_CASE("plan: bad values are rejected with file, line and key", "[plan]") {
    const std::string head = "study: s\ngrid:\n  dataset: mnist\n  optimizer: sgd\n";
    REQUIRE_THAT(error_of(head + "  lr: -0.1\n"),
                 Catch::Contains("bad.yaml:5:7: lr: -0.1 is out of range (0, inf)"));
    REQUIRE_THAT(error_of(head + "  lr: 0\n"), Catch::Contains("lr: 0 is out of range"));
    REQUIRE_THAT(error_of(head + "  lr: 0.1\n  epsilon: [0, 1]\n"),
                 Catch::Contains("bad.yaml:6:16: epsilon: 1 is out of range [0, 1)"));
    REQUIRE_THAT(error_of(head + "  lr: 0.1\n  gamma: -1\n"),
                 Catch::Contains("gamma: -1 is out of range"));
    REQUIRE_THAT(error_of(head + "  lr: fast\n"),
                 Catch::Contains("bad.yaml:5:7: lr: expected a number, got \"fast\""));
    REQUIRE_THAT(error_of(head + "  lr: \"0.1\"\n"), Catch::Contains("quoted text"));
    REQUIRE_THAT(error_of(head + "  lr: 0.1\n  epochs: 2.5\n"),
                 Catch::Contains("epochs: expected an integer, got \"2.5\""));
    REQUIRE_THAT(error_of(head + "  lr: 0.1\n  epochs: 0\n"),
                 Catch::Contains("epochs: must be at least 1, got 0"));
    REQUIRE_THAT(error_of(head + "  lr: 0.1\n  batch_size: 0\n"),
                 Catch::Contains("batch_size: must be at least 1"));
}

TEST_CASE("plan: unknown keys are rejected with the closest known one", "[plan]") {
    REQUIRE_THAT(error_of("study: s\ngrid: {dataset: mnist, optimizer: sgd, lr: 0.1, "
                          "seeds: [1, 2]}\n"),
                 Catch::Contains("bad.yaml:2:49: seeds: unknown key in a grid (did you mean "
                                 "'seed'?)"));
    REQUIRE_THAT(error_of("study: s\ndefault: {}\n"),
                 Catch::Contains("default: unknown key in the study (did you mean 'defaults'?)"));
    REQUIRE_THAT(error_of("study: s\ngrid: {dataset: mnist, optimizer: sgdd, lr: 0.1}\n"),
                 Catch::Contains("optimizer: unknown value \"sgdd\" (did you mean 'sgd'?)"));
    REQUIRE_THAT(error_of("study: s\ngrid: {dataset: imagenet, optimizer: sgd, lr: 0.1}\n"),
                 Catch::Contains("dataset: unknown value \"imagenet\""));
}

TEST_CASE("plan: empty grids, empty lists and missing parameters are rejected", "[plan]") {
    REQUIRE_THAT(error_of("study: s\ngrids: []\n"), Catch::Contains("the study has no units"));
    REQUIRE_THAT(error_of("study: s\ngrid: {}\n"), Catch::Contains("empty grid"));
    REQUIRE_THAT(error_of("study: s\ngrid: {dataset: mnist, optimizer: sgd, lr: 0.1, "
                          "seed: []}\n"),
                 Catch::Contains("seed: empty list"));
    REQUIRE_THAT(error_of("study: s\ngrid: {dataset: mnist, optimizer: sgd}\n"),
                 Catch::Contains("lr: no value"));
    REQUIRE_THAT(error_of("grid: {dataset: mnist, optimizer: sgd, lr: 0.1}\n"),
                 Catch::Contains("study: missing"));
}

TEST_CASE("plan: syntax errors, duplicates and conflicts are rejected", "[plan]") {
    REQUIRE_THAT(error_of("study: s\ngrid: {dataset: [mnist\n"),
                 Catch::Contains("YAML syntax error"));
    REQUIRE_THAT(error_of("study: s\ngrid: {dataset: mnist, optimizer: sgd, lr: 0.1, "
                          "seed: [1, 1]}\n"),
                 Catch::Contains("duplicate unit: unit 1 repeats unit 0"));
    REQUIRE_THAT(error_of("study: s\ngrid:\n  lr: 0.1\n  dataset: mnist\n  setting:\n"
                          "    - {optimizer: sgd, lr: 0.2}\n"),
                 Catch::Contains("lr: set twice in one grid (also at line 3)"));
}

TEST_CASE("plan: a missing study file is named", "[plan]") {
    REQUIRE_THROWS_WITH(sweep::plan::load_study("no/such/study.yaml"),
                        Catch::Contains("no/such/study.yaml: cannot open"));
}

TEST_CASE("plan: a key given twice in one map is refused", "[plan]") {
    // used to pass silently, yaml-cpp answering with one of the two values
    REQUIRE_THAT(
        error_of("study: s\ndefaults: {epochs: 1, epochs: 3}\n"
                 "grid: {dataset: mnist, optimizer: sgd, lr: 0.1}\n"),
        Catch::Contains("bad.yaml:2:23: epochs: given twice in defaults (also at line 2)"));
    REQUIRE_THAT(error_of("study: s\nstudy: t\ngrid: {dataset: mnist, optimizer: sgd, lr: 0.1}\n"),
                 Catch::Contains("study: given twice in the study"));
}

TEST_CASE("plan: a grid beyond max_units is refused before it is built", "[plan]") {
    // a 10^7-unit grid used to fill memory with no word
    const std::string huge =
        "study: s\ngrid:\n  dataset: mnist\n  optimizer: sgd\n  lr: [0.1, 0.2, 0.3]\n"
        "  seed: [1, 2, 3, 4]\n";
    REQUIRE(parse_study(huge, "ok.yaml").units.size() == 12);
    REQUIRE_THAT(error_of("max_units: 10\n" + huge),
                 Catch::Contains("grid: expands to more than max_units (10) units"));
}

TEST_CASE("plan: hexadecimal and octal integers, never infinities", "[plan]") {
    const auto study = parse_study(
        "study: s\ngrid: {dataset: mnist, optimizer: sgd, lr: 0.1, seed: [0x10, 0o10]}\n", "s");
    REQUIRE(study.units[0].seed == 16);
    REQUIRE(study.units[1].seed == 8);
    REQUIRE_THAT(error_of("study: s\ngrid: {dataset: mnist, optimizer: sgd, lr: .inf}\n"),
                 Catch::Contains("lr: must be a finite number, got .inf"));
}

TEST_CASE("plan: the study name is a plain name and epochs are bounded", "[plan]") {
    // a name like ../../x used to place the default output outside results/
    REQUIRE_THAT(error_of("study: ../../x\ngrid: {dataset: mnist, optimizer: sgd, lr: 0.1}\n"),
                 Catch::Contains("study: \"../../x\" is not a plain name"));
    // 2^63 - 1 epochs used to overflow the result file's curve dataset
    REQUIRE_THAT(error_of("study: s\ngrid: {dataset: mnist, optimizer: sgd, lr: 0.1, "
                          "epochs: 9223372036854775807}\n"),
                 Catch::Contains("epochs: must be at most 100000"));
}

TEST_CASE("plan: adam units take no momentum", "[plan]") {
    const auto study = parse_study(
        "study: s\ndefaults: {momentum: 0.9}\n"
        "grid: {dataset: mnist, optimizer: [sgd, adam], lr: 0.1}\n",
        "s");
    REQUIRE(study.units[0].momentum == 0.9);
    REQUIRE(study.units[1].momentum == 0);
    REQUIRE_THAT(error_of("study: s\ngrid: {dataset: mnist, optimizer: adam, lr: 0.1, "
                          "momentum: 0.5}\n"),
                 Catch::Contains("momentum: applies to sgd only, not to adam"));
}

TEST_CASE("plan: a directory is not a study file", "[plan]") {
    REQUIRE_THROWS_WITH(sweep::plan::load_study("."), Catch::Contains(".: is a directory"));
}

TEST_CASE("plan: a study file holds one YAML document", "[plan]") {
    const std::string study = "study: s\ngrid: {dataset: mnist, optimizer: sgd, lr: 0.1}\n";
    REQUIRE(parse_study("---\n" + study, "ok.yaml").units.size() == 1);
    REQUIRE(parse_study(study + "...\n", "ok.yaml").units.size() == 1);
    // a second study after "---" used to be dropped without a word
    REQUIRE_THAT(error_of(study + "---\nstudy: t\n"),
                 Catch::Contains("bad.yaml:3:1: a study file holds one YAML document"));
    REQUIRE_THAT(error_of(study + "--- 3\n"), Catch::Contains("holds one YAML document"));
}

TEST_CASE("plan: a study file larger than 16 MiB is refused, not read to its end", "[plan]") {
    // `sweep plan /dev/zero` used to read without end until memory ran out
    namespace fs = std::filesystem;
    const fs::path path = fs::temp_directory_path() / "sweep-test-plan-oversized.yaml";
    {
        std::ofstream out(path, std::ios::binary);
        out << "study: s\ngrid: {dataset: mnist, optimizer: sgd, lr: 0.1}\n";
        const std::string comment = "#" + std::string(1023, 'x') + "\n";
        for (int kib = 0; kib < 16 * 1024; ++kib) out << comment;
    }
    REQUIRE_THROWS_WITH(sweep::plan::load_study(path.string()),
                        Catch::Contains("study file is larger than 16 MiB"));
    fs::resize_file(path, 4096);  // the same study, cut within its comments, is fine
    REQUIRE(sweep::plan::load_study(path.string()).units.size() == 1);
    fs::remove(path);
}

TEST_CASE("plan: any grid key that is not a parameter names a list of bundles", "[plan]") {
    const auto study = parse_study(
        "study: s\ngrid:\n  dataset: mnist\n  optimizers:\n"
        "    - {optimizer: sgd, lr: 0.1}\n    - {optimizer: adam, lr: 0.01}\n",
        "s");
    REQUIRE(study.units.size() == 2);
    // `setting: 3` used to be called an unknown key, though `setting:` takes bundles
    REQUIRE_THAT(error_of("study: s\ngrid: {dataset: mnist, optimizer: sgd, lr: 0.1, "
                          "setting: 3}\n"),
                 Catch::Contains("setting: expected a list of maps (bundles), got a value"));
    REQUIRE_THAT(error_of("study: s\ngrid: {dataset: mnist, optimizer: sgd, lr: 0.1, "
                          "setting: [1, 2]}\n"),
                 Catch::Contains("setting: expected a list of maps (bundles), got a list of "
                                 "values"));
    REQUIRE_THAT(error_of("study: s\ngrid: {dataset: mnist, optimizer: sgd, lr: {a: 1}}\n"),
                 Catch::Contains("lr: expected a value or a list of values, got a map"));
}

TEST_CASE("plan: every file in tests/bad_studies fails with the error its first line expects",
          "[plan]") {
    // Each file starts with "# expect: TEXT"; loading it must throw a ConfigError containing
    // TEXT. Paths in messages are given relative to tests/, as the files are named below.
    namespace fs = std::filesystem;
    const fs::path folder = fs::path(SWEEP_TESTS_DIR) / "bad_studies";
    size_t checked = 0;
    for (const auto& entry : fs::directory_iterator(folder)) {
        std::ifstream in(entry.path());
        std::string first_line;
        std::getline(in, first_line);
        const std::string marker = "# expect: ";
        REQUIRE(first_line.rfind(marker, 0) == 0);
        const std::string expected = first_line.substr(marker.size());
        const std::string name = "bad_studies/" + entry.path().filename().string();
        std::ostringstream text;
        text << std::ifstream(entry.path()).rdbuf();
        INFO(name);
        CHECK_THROWS_WITH(parse_study(text.str(), name), Catch::Contains(expected));
        ++checked;
    }
    REQUIRE(checked >= 24);
}

TEST_CASE("plan: inputs the fuzzer found are refused with a ConfigError", "[plan]") {
    // Each file under tests/fuzz/regressions/fuzz_plan says in its first line what used to
    // happen: an exception of another type, a stack overflow, an integer overflow.
    namespace fs = std::filesystem;
    const fs::path folder = fs::path(SWEEP_TESTS_DIR) / "fuzz" / "regressions" / "fuzz_plan";
    if (!fs::is_directory(folder)) return;
    for (const auto& entry : fs::directory_iterator(folder)) {
        std::ostringstream text;
        text << std::ifstream(entry.path(), std::ios::binary).rdbuf();
        INFO(entry.path().filename().string());
        CHECK_THROWS_AS(parse_study(text.str(), "fuzz.yaml"), ConfigError);
    }
}
