// Owns the study file: YAML → validated study → the ordered list of work units.
// Needs yaml-cpp and fmt; knows nothing of MPI, HDF5 or Torch.
// Safe across threads and ranks: the same file always expands to the same list.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sweep::plan {

// One training run of the study. Every field is a parameter of the run; `index` is its
// position in the expanded plan, identical on every rank.
struct Unit {
    int64_t index = 0;
    std::string dataset;
    std::string data_dir;  // where the data set lives; not part of the unit's identity
    std::string optimizer;
    double lr = 0;
    double gamma = 0;     // multiplies lr after every epoch; 0 keeps lr constant
    double momentum = 0;  // SGD only
    double epsilon = 0;   // symmetric label-noise rate on the training split
    int64_t epochs = 0;
    int64_t batch_size = 0;
    int64_t test_batch_size = 0;
    int64_t train_size = 0;  // first N training examples; 0 means all
    int64_t test_size = 0;   // first N test examples; 0 means all
    int64_t seed = 0;

    // All parameters but the seed and data_dir, as "key=value;..." in a fixed order.
    std::string setting_key() const;
    // setting_key() plus the seed: what makes a unit distinct.
    std::string identity() const;
    // 16 hex digits of a stable 64-bit hash of identity().
    std::string id() const;
};

struct Study {
    std::string name;
    std::string source_path;
    std::string yaml_text;  // the file as read, stored in the result file
    std::string output;     // result file; relative paths are relative to the working dir
    std::vector<Unit> units;

    // 16 hex digits of a stable hash over every unit's identity, in order: two files that
    // expand to the same units have the same plan hash, whatever their comments or layout.
    std::string plan_hash() const;
};

// The parameter names a grid or the defaults may set, in the order they are documented.
const std::vector<std::string>& parameter_names();

// Reads and expands a study file. Throws ConfigError naming file:line:column and the key.
Study load_study(const std::string& path);

// Same, from text; source_name is used in error messages.
Study parse_study(const std::string& yaml_text, const std::string& source_name);

}  // namespace sweep::plan
