#include "plan/plan.hpp"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "common/error.hpp"

namespace sweep::plan {
namespace {

// Built-in defaults, used when neither the study's defaults nor a grid set a parameter.
constexpr int64_t kDefaultEpochs = 10;
constexpr int64_t kDefaultBatchSize = 64;        // training mini-batch, images
constexpr int64_t kDefaultTestBatchSize = 1000;  // evaluation batch, images
constexpr int64_t kDefaultSeed = 1;
// Bounds that keep a typo from sizing a result file beyond reason.
constexpr int64_t kMaxEpochs = 100000;
constexpr size_t kMaxNumberLength = 64;       // characters of a number in the study file
constexpr size_t kMaxStudyNameLength = 100;   // characters; the name becomes a file name
constexpr int64_t kDefaultMaxUnits = 100000;  // a study's units unless `max_units` says more
constexpr int64_t kMaxMaxUnits = 10000000;    // beyond this, expanding alone takes minutes
// Bytes read of a study file; real ones take a few KiB, and this bounds memory on /dev/zero.
constexpr size_t kMaxStudyFileBytes = size_t{16} << 20;
constexpr size_t kReadChunkBytes = size_t{64} << 10;  // bytes asked of the file per read

const std::vector<std::string> kDatasets = {"mnist", "fashion-mnist", "cifar10"};
const std::vector<std::string> kOptimizers = {"sgd", "adam"};
const std::vector<std::string> kTopLevelKeys = {"study",    "description", "output", "max_units",
                                                "defaults", "grids",       "grid"};

enum class Kind { kText, kReal, kInteger };

struct Parameter {
    std::string name;
    Kind kind;
};

const std::vector<Parameter> kParameters = {
    {"dataset", Kind::kText},       {"data_dir", Kind::kText},
    {"optimizer", Kind::kText},     {"lr", Kind::kReal},
    {"gamma", Kind::kReal},         {"momentum", Kind::kReal},
    {"epsilon", Kind::kReal},       {"epochs", Kind::kInteger},
    {"batch_size", Kind::kInteger}, {"test_batch_size", Kind::kInteger},
    {"train_size", Kind::kInteger}, {"test_size", Kind::kInteger},
    {"seed", Kind::kInteger},
};

// Parameter values of one unit, each with the YAML node it came from (for error marks).
using Assignment = std::map<std::string, YAML::Node>;

class Reader {
public:
    explicit Reader(std::string source) : source_(std::move(source)) {}

    [[noreturn]] void fail(const YAML::Node& node, const std::string& what) const {
        const YAML::Mark mark = node.Mark();
        if (mark.is_null()) throw ConfigError(fmt::format("{}: {}", source_, what));
        throw ConfigError(
            fmt::format("{}:{}:{}: {}", source_, mark.line + 1, mark.column + 1, what));
    }

    std::string text(const YAML::Node& node, const std::string& key) const;
    double real(const YAML::Node& node, const std::string& key) const;
    int64_t integer(const YAML::Node& node, const std::string& key) const;
    void check_key(const YAML::Node& key_node, const std::vector<std::string>& known,
                   const std::string& where) const;
    // A map key as text; a list or map used as a key is refused.
    std::string key_text(const YAML::Node& key_node) const;

    const std::string& source() const { return source_; }

private:
    std::string plain_scalar(const YAML::Node& node, const std::string& key,
                             const char* expected) const;

    std::string source_;
};

size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string suggestion(const std::string& key, const std::vector<std::string>& known) {
    std::string best;
    size_t best_distance = 3;  // farther than this is no longer a typo
    for (const std::string& candidate : known) {
        const size_t distance = edit_distance(key, candidate);
        if (distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    return best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best);
}

std::string join(const std::vector<std::string>& words) {
    std::string out;
    for (const std::string& word : words) out += (out.empty() ? "" : ", ") + word;
    return out;
}

std::string Reader::key_text(const YAML::Node& key_node) const {
    if (!key_node.IsScalar()) fail(key_node, "keys must be plain names, not lists or maps");
    return key_node.Scalar();
}

void Reader::check_key(const YAML::Node& key_node, const std::vector<std::string>& known,
                       const std::string& where) const {
    const std::string key = key_text(key_node);
    if (std::find(known.begin(), known.end(), key) != known.end()) return;
    fail(key_node, fmt::format("{}: unknown key in {}{}; known keys: {}", key, where,
                               suggestion(key, known), join(known)));
}

// yaml-cpp keeps a repeated key and answers with the first; a study file must not depend on
// which of two values wins.
void check_unique_keys(const Reader& reader, const YAML::Node& map, const std::string& where) {
    std::map<std::string, int> lines;
    for (const auto& entry : map) {
        const std::string key = reader.key_text(entry.first);
        const auto [previous, inserted] = lines.emplace(key, entry.first.Mark().line + 1);
        if (!inserted) {
            reader.fail(entry.first, fmt::format("{}: given twice in {} (also at line {})", key,
                                                 where, previous->second));
        }
    }
}

std::string Reader::plain_scalar(const YAML::Node& node, const std::string& key,
                                 const char* expected) const {
    if (node.IsNull()) fail(node, fmt::format("{}: expected {}, got nothing", key, expected));
    if (!node.IsScalar())
        fail(node, fmt::format("{}: expected {}, got a list or map", key, expected));
    // yaml-cpp tags quoted scalars "!": a quoted "0.01" is text, not a number.
    if (node.Tag() == "!")
        fail(node,
             fmt::format("{}: expected {}, got quoted text \"{}\"", key, expected, node.Scalar()));
    // std::regex recurses per character; no number needs more than this many.
    if (node.Scalar().size() > kMaxNumberLength) {
        fail(node, fmt::format("{}: {} characters are too long for {}", key, node.Scalar().size(),
                               expected));
    }
    return node.Scalar();
}

std::string Reader::text(const YAML::Node& node, const std::string& key) const {
    if (node.IsNull()) fail(node, fmt::format("{}: expected text, got nothing", key));
    if (!node.IsScalar()) fail(node, fmt::format("{}: expected text, got a list or map", key));
    if (node.Scalar().empty()) fail(node, fmt::format("{}: expected text, got nothing", key));
    return node.Scalar();
}

// Numbers follow the YAML 1.2 core schema: "010" is ten, never octal; "1e-3" is 0.001.
double Reader::real(const YAML::Node& node, const std::string& key) const {
    static const std::regex kReal(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
    const std::string scalar = plain_scalar(node, key, "a number");
    static const std::regex kNotFinite(R"([-+]?\.(inf|Inf|INF|nan|NaN|NAN))");
    if (std::regex_match(scalar, kNotFinite)) {
        fail(node, fmt::format("{}: must be a finite number, got {}", key, scalar));
    }
    if (!std::regex_match(scalar, kReal)) {
        fail(node, fmt::format("{}: expected a number, got \"{}\"", key, scalar));
    }
    const char* begin = scalar.data() + (scalar[0] == '+');
    double value = 0;
    const auto [end, error] = std::from_chars(begin, scalar.data() + scalar.size(), value);
    if (error != std::errc() || end != scalar.data() + scalar.size()) {
        fail(node, fmt::format("{}: number out of range: {}", key, scalar));
    }
    return value;
}

int64_t Reader::integer(const YAML::Node& node, const std::string& key) const {
    // YAML 1.2 core schema: decimal, 0o octal and 0x hexadecimal; "010" is decimal ten.
    static const std::regex kInteger(R"([-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)");
    const std::string scalar = plain_scalar(node, key, "an integer");
    if (!std::regex_match(scalar, kInteger)) {
        fail(node, fmt::format("{}: expected an integer, got \"{}\"", key, scalar));
    }
    int base = 10;
    const char* begin = scalar.data() + (scalar[0] == '+');
    if (scalar.size() > 2 && scalar[0] == '0' && (scalar[1] == 'o' || scalar[1] == 'x')) {
        base = scalar[1] == 'o' ? 8 : 16;
        begin = scalar.data() + 2;
    }
    int64_t value = 0;
    const auto [end, error] = std::from_chars(begin, scalar.data() + scalar.size(), value, base);
    if (error != std::errc() || end != scalar.data() + scalar.size()) {
        fail(node, fmt::format("{}: integer out of range: {}", key, scalar));
    }
    return value;
}

const Parameter* find_parameter(const std::string& name) {
    for (const Parameter& parameter : kParameters) {
        if (parameter.name == name) return &parameter;
    }
    return nullptr;
}

std::vector<std::string> names_of_parameters() {
    std::vector<std::string> names;
    for (const Parameter& parameter : kParameters) names.push_back(parameter.name);
    return names;
}

void require_one_of(const Reader& reader, const YAML::Node& node, const std::string& key,
                    const std::string& value, const std::vector<std::string>& allowed) {
    if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return;
    reader.fail(node, fmt::format("{}: unknown value \"{}\"{}; expected one of: {}", key, value,
                                  suggestion(value, allowed), join(allowed)));
}

// Sets one field of the unit from its node, checking type and range.
void apply(const Reader& reader, const std::string& key, const YAML::Node& node, Unit& unit) {
    auto real_at_least = [&](double minimum, bool inclusive, double below) {
        const double value = reader.real(node, key);
        const bool low_ok = inclusive ? value >= minimum : value > minimum;
        if (!low_ok || !(value < below)) {
            reader.fail(
                node,
                fmt::format("{}: {} is out of range {}{}, {}{}", key, value, inclusive ? "[" : "(",
                            minimum, below == HUGE_VAL ? "inf" : fmt::format("{}", below), ")"));
        }
        return value;
    };
    auto integer_at_least = [&](int64_t minimum, int64_t maximum = INT64_MAX) {
        const int64_t value = reader.integer(node, key);
        if (value < minimum) {
            reader.fail(node, fmt::format("{}: must be at least {}, got {}", key, minimum, value));
        }
        if (value > maximum) {
            reader.fail(node, fmt::format("{}: must be at most {}, got {}", key, maximum, value));
        }
        return value;
    };

    if (key == "dataset") {
        unit.dataset = reader.text(node, key);
        require_one_of(reader, node, key, unit.dataset, kDatasets);
    } else if (key == "data_dir") {
        unit.data_dir = reader.text(node, key);
    } else if (key == "optimizer") {
        unit.optimizer = reader.text(node, key);
        require_one_of(reader, node, key, unit.optimizer, kOptimizers);
    } else if (key == "lr") {
        unit.lr = real_at_least(0, false, HUGE_VAL);
    } else if (key == "gamma") {
        unit.gamma = real_at_least(0, true, HUGE_VAL);
    } else if (key == "momentum") {
        unit.momentum = real_at_least(0, true, 1);
    } else if (key == "epsilon") {
        unit.epsilon = real_at_least(0, true, 1);
    } else if (key == "epochs") {
        unit.epochs = integer_at_least(1, kMaxEpochs);
    } else if (key == "batch_size") {
        unit.batch_size = integer_at_least(1);
    } else if (key == "test_batch_size") {
        unit.test_batch_size = integer_at_least(1);
    } else if (key == "train_size") {
        unit.train_size = integer_at_least(0);
    } else if (key == "test_size") {
        unit.test_size = integer_at_least(0);
    } else if (key == "seed") {
        unit.seed = integer_at_least(0);
    }
}

Assignment read_defaults(const Reader& reader, const YAML::Node& defaults) {
    if (!defaults.IsMap()) reader.fail(defaults, "defaults: expected a map of parameters");
    check_unique_keys(reader, defaults, "defaults");
    Assignment assignment;
    for (const auto& entry : defaults) {
        reader.check_key(entry.first, parameter_names(), "defaults");
        assignment[reader.key_text(entry.first)] = entry.second;
    }
    return assignment;
}

// One grid dimension: the alternatives it offers, each a partial assignment.
using Dimension = std::vector<Assignment>;

// A grid key that is no parameter names a list of bundles, whatever the name ("setting",
// "optimizers"...). Given anything else, the key is either a typo of a parameter, said as an
// unknown key with the suggestion, or a bundle list written wrong, said as such.
[[noreturn]] void fail_not_bundles(const Reader& reader, const YAML::Node& key_node,
                                   const YAML::Node& value, const char* got) {
    const std::string key = reader.key_text(key_node);
    if (!suggestion(key, parameter_names()).empty()) {
        reader.check_key(key_node, parameter_names(), "a grid");
    }
    reader.fail(value, fmt::format("{}: expected a list of maps (bundles), got {}; a grid key "
                                   "that is not a parameter names a list of bundles; "
                                   "parameters: {}",
                                   key, got, join(parameter_names())));
}

Dimension read_dimension(const Reader& reader, const YAML::Node& key_node,
                         const YAML::Node& value) {
    const std::string key = reader.key_text(key_node);
    const bool is_parameter = find_parameter(key) != nullptr;
    Dimension dimension;

    if (value.IsScalar() || value.IsNull()) {  // a null is checked, and named, by apply
        if (!is_parameter) {
            fail_not_bundles(reader, key_node, value, value.IsNull() ? "nothing" : "a value");
        }
        return {Assignment{{key, value}}};
    }
    if (!value.IsSequence()) {
        if (!is_parameter)
            fail_not_bundles(reader, key_node, value, "one map (write it as a list of one)");
        reader.fail(value, fmt::format("{}: expected a value or a list of values, got a map", key));
    }
    if (value.size() == 0) reader.fail(value, fmt::format("{}: empty list", key));

    const bool bundles = value[0].IsMap();
    if (!bundles && !is_parameter) fail_not_bundles(reader, key_node, value, "a list of values");
    if (bundles && is_parameter) {
        reader.fail(value, fmt::format("{}: a parameter takes values, not maps", key));
    }
    for (const YAML::Node& item : value) {
        if (item.IsMap() != bundles) {
            reader.fail(item, fmt::format("{}: mixes maps and values in one list", key));
        }
        if (!bundles) {
            dimension.push_back(Assignment{{key, item}});
            continue;
        }
        Assignment bundle;
        check_unique_keys(reader, item, fmt::format("bundle '{}'", key));
        for (const auto& entry : item) {
            reader.check_key(entry.first, parameter_names(), fmt::format("bundle '{}'", key));
            bundle[reader.key_text(entry.first)] = entry.second;
        }
        if (bundle.empty()) reader.fail(item, fmt::format("{}: empty bundle", key));
        dimension.push_back(bundle);
    }
    return dimension;
}

// Crosses the grid's dimensions, the first one varying slowest; refuses a grid of more than
// max_units points before building any of them.
std::vector<Assignment> expand_grid(const Reader& reader, const YAML::Node& grid,
                                    int64_t max_units) {
    if (!grid.IsMap()) reader.fail(grid, "grid: expected a map of parameters to values");
    if (grid.size() == 0) reader.fail(grid, "grid: empty grid");
    check_unique_keys(reader, grid, "a grid");

    std::vector<Dimension> dimensions;
    int64_t size = 1;
    for (const auto& entry : grid) {
        dimensions.push_back(read_dimension(reader, entry.first, entry.second));
        const auto choices = static_cast<int64_t>(dimensions.back().size());
        if (size > max_units / choices) {  // size × choices > max_units, without overflow
            reader.fail(grid, fmt::format("grid: expands to more than max_units ({}) units; "
                                          "raise max_units in the study file if that is meant",
                                          max_units));
        }
        size *= choices;
    }

    std::vector<Assignment> points = {Assignment{}};
    for (const Dimension& dimension : dimensions) {
        std::vector<Assignment> crossed;
        for (const Assignment& point : points) {
            for (const Assignment& choice : dimension) {
                Assignment merged = point;
                for (const auto& [key, node] : choice) {
                    if (merged.count(key)) {
                        reader.fail(node, fmt::format("{}: set twice in one grid (also at line {})",
                                                      key, merged[key].Mark().line + 1));
                    }
                    merged[key] = node;
                }
                crossed.push_back(std::move(merged));
            }
        }
        points = std::move(crossed);
    }
    return points;
}

Unit make_unit(const Reader& reader, const YAML::Node& grid, const Assignment& defaults,
               const Assignment& point) {
    Unit unit;
    unit.epochs = kDefaultEpochs;
    unit.batch_size = kDefaultBatchSize;
    unit.test_batch_size = kDefaultTestBatchSize;
    unit.seed = kDefaultSeed;
    for (const auto& [key, node] : defaults) apply(reader, key, node, unit);
    for (const auto& [key, node] : point) apply(reader, key, node, unit);

    // Adam has no momentum parameter: one set for the grid is a mistake, one inherited
    // from the defaults (meant for the SGD units) does not apply.
    if (unit.optimizer != "sgd") {
        if (point.count("momentum")) {
            reader.fail(point.at("momentum"), fmt::format("momentum: applies to sgd only, not "
                                                          "to {}",
                                                          unit.optimizer));
        }
        unit.momentum = 0;
    }
    for (const char* required : {"dataset", "optimizer", "lr"}) {
        if (!defaults.count(required) && !point.count(required)) {
            reader.fail(grid, fmt::format("{}: no value for a unit of this grid; set it in "
                                          "defaults or in the grid",
                                          required));
        }
    }
    return unit;
}

std::string shortest(double value) {
    return fmt::format("{}", value);
}

uint64_t fnv1a(const std::string& text, uint64_t hash = 0xcbf29ce484222325ULL) {
    for (const unsigned char byte : text) {
        hash ^= byte;
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

// FNV-1a alone leaves similar texts with similar hashes; a final mix spreads them.
uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// Reads the whole study file, but never more than kMaxStudyFileBytes: a device such as
// /dev/zero, or a FIFO whose writer never stops, must not fill memory.
std::string read_file(const std::string& path) {
    std::error_code ignored;
    if (std::filesystem::is_directory(path, ignored)) {
        throw ConfigError(fmt::format("{}: is a directory, not a study file", path));
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ConfigError(
            fmt::format("{}: cannot open the study file: {}", path, std::strerror(errno)));
    }

    // Reading stops one chunk past the limit at most, so memory stays bounded.
    std::string content;
    std::vector<char> chunk(kReadChunkBytes);
    while (in && content.size() <= kMaxStudyFileBytes) {
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        content.append(chunk.data(), static_cast<size_t>(in.gcount()));
    }
    if (in.bad()) {
        throw ConfigError(
            fmt::format("{}: cannot read the study file: {}", path, std::strerror(errno)));
    }
    if (content.size() > kMaxStudyFileBytes) {
        throw ConfigError(
            fmt::format("{}: study file is larger than {} MiB", path, kMaxStudyFileBytes >> 20));
    }
    return content;
}

// Records where each YAML document starts and ignores everything else.
class DocumentStarts : public YAML::EventHandler {
public:
    std::vector<YAML::Mark> starts;

    void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
};

// The file's one YAML document. yaml-cpp's Load answers with the first document and drops the
// rest, so a second study after "---" would be ignored without a word. LoadAll is no help: on
// some malformed input (", a: 1") its parser reports empty documents forever without moving,
// so at most two documents are asked for, and a second counts only if it starts further on.
YAML::Node only_document(const Reader& reader, const std::string& yaml_text) {
    const auto syntax_error = [&](const YAML::ParserException& error) {
        return ConfigError(fmt::format("{}:{}:{}: YAML syntax error: {}", reader.source(),
                                       error.mark.line + 1, error.mark.column + 1, error.msg));
    };
    YAML::Node root;
    DocumentStarts documents;
    try {
        root = YAML::Load(yaml_text);
        std::istringstream in(yaml_text);
        YAML::Parser parser(in);
        if (parser.HandleNextDocument(documents)) parser.HandleNextDocument(documents);
    } catch (const YAML::ParserException& error) {
        throw syntax_error(error);
    }
    if (documents.starts.size() > 1 && documents.starts[1].pos > documents.starts[0].pos) {
        const YAML::Mark& second = documents.starts[1];
        throw ConfigError(
            fmt::format("{}:{}:{}: a study file holds one YAML document; a second one starts here",
                        reader.source(), second.line + 1, second.column + 1));
    }
    return root;
}

}  // namespace

const std::vector<std::string>& parameter_names() {
    static const std::vector<std::string> kNames = names_of_parameters();
    return kNames;
}

std::string Unit::setting_key() const {
    return fmt::format(
        "dataset={};optimizer={};lr={};gamma={};momentum={};epsilon={};epochs={};"
        "batch_size={};test_batch_size={};train_size={};test_size={}",
        dataset, optimizer, shortest(lr), shortest(gamma), shortest(momentum), shortest(epsilon),
        epochs, batch_size, test_batch_size, train_size, test_size);
}

std::string Unit::identity() const {
    return fmt::format("{};seed={}", setting_key(), seed);
}

std::string Unit::id() const {
    return fmt::format("{:016x}", mix(fnv1a(identity())));
}

std::string Study::plan_hash() const {
    uint64_t hash = fnv1a(name);
    for (const Unit& unit : units) hash = fnv1a(unit.identity() + "\n", hash);
    return fmt::format("{:016x}", mix(hash));
}

Study parse_study(const std::string& yaml_text, const std::string& source_name) {
    const Reader reader(source_name);
    const YAML::Node root = only_document(reader, yaml_text);
    if (!root.IsMap()) reader.fail(root, "expected a map with keys study, defaults, grids");
    for (const auto& entry : root) reader.check_key(entry.first, kTopLevelKeys, "the study");
    check_unique_keys(reader, root, "the study");

    Study study;
    study.source_path = source_name;
    study.yaml_text = yaml_text;
    if (!root["study"]) reader.fail(root, "study: missing; give the study a name");
    study.name = reader.text(root["study"], "study");
    // The name becomes the default file name, so it must not be a path.
    static const std::regex kName(R"([A-Za-z0-9][A-Za-z0-9._-]*)");
    if (study.name.size() > kMaxStudyNameLength) {
        reader.fail(root["study"], fmt::format("study: the name is longer than {} characters",
                                               kMaxStudyNameLength));
    }
    if (!std::regex_match(study.name, kName)) {
        reader.fail(root["study"], fmt::format("study: \"{}\" is not a plain name; use letters, "
                                               "digits, '.', '_' and '-'",
                                               study.name));
    }
    int64_t max_units = kDefaultMaxUnits;
    if (root["max_units"]) {
        max_units = reader.integer(root["max_units"], "max_units");
        if (max_units < 1 || max_units > kMaxMaxUnits) {
            reader.fail(root["max_units"],
                        fmt::format("max_units: must be between 1 and {}", kMaxMaxUnits));
        }
    }
    study.output = root["output"] ? reader.text(root["output"], "output")
                                  : fmt::format("results/{}.h5", study.name);

    const Assignment defaults =
        root["defaults"] ? read_defaults(reader, root["defaults"]) : Assignment{};
    if (root["grid"] && root["grids"]) {
        reader.fail(root["grid"], "grid: give grid or grids, not both");
    }
    std::vector<YAML::Node> grids;
    if (root["grid"]) grids.push_back(root["grid"]);
    if (root["grids"]) {
        if (!root["grids"].IsSequence()) reader.fail(root["grids"], "grids: expected a list");
        for (const YAML::Node& grid : root["grids"]) grids.push_back(grid);
    }
    if (grids.empty()) reader.fail(root, "grids: missing or empty; the study has no units");

    std::map<std::string, int64_t> seen;  // identity → unit index, to reject duplicates
    for (const YAML::Node& grid : grids) {
        const int64_t room = max_units - static_cast<int64_t>(study.units.size());
        for (const Assignment& point : expand_grid(reader, grid, room)) {
            Unit unit = make_unit(reader, grid, defaults, point);
            unit.index = static_cast<int64_t>(study.units.size());
            const auto [previous, inserted] = seen.emplace(unit.identity(), unit.index);
            if (!inserted) {
                reader.fail(grid, fmt::format("duplicate unit: unit {} repeats unit {} ({})",
                                              unit.index, previous->second, unit.identity()));
            }
            study.units.push_back(std::move(unit));
        }
    }
    return study;
}

Study load_study(const std::string& path) {
    return parse_study(read_file(path), path);
}

}  // namespace sweep::plan
