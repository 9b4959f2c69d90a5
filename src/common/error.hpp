// The one exception hierarchy of sweep, each kind mapped to a documented exit code.
// Needs nothing but the standard library. Safe across threads and ranks (plain values).
#pragma once

#include <stdexcept>
#include <string>

namespace sweep {

// Exit codes, documented in README.md ("Exit codes"). Kept stable for batch scripts.
enum ExitCode : int {
    kExitOk = 0,
    kExitInternal = 1,     // a bug or an unexpected library failure
    kExitUsage = 2,        // bad command line (CLI11's own code)
    kExitConfig = 3,       // the study file is invalid
    kExitData = 4,         // a data file is missing or malformed
    kExitStore = 5,        // the HDF5 result file cannot be used
    kExitMpi = 6,          // MPI failed or the launch is inconsistent
    kExitUnitsFailed = 7,  // the sweep ran to the end but some units failed
    kExitReport = 8,       // the report cannot be written (directory, gnuplot)
    kExitStopped = 9,      // stopped by SIGTERM or SIGINT; the file is sound, rerun to resume
};

class Error : public std::runtime_error {
public:
    Error(const std::string& message, ExitCode code) : std::runtime_error(message), code_(code) {}
    ExitCode code() const { return code_; }

private:
    ExitCode code_;
};

class ConfigError : public Error {
public:
    explicit ConfigError(const std::string& message) : Error(message, kExitConfig) {}
};

class DataError : public Error {
public:
    explicit DataError(const std::string& message) : Error(message, kExitData) {}
};

class StoreError : public Error {
public:
    explicit StoreError(const std::string& message) : Error(message, kExitStore) {}
};

class MpiError : public Error {
public:
    explicit MpiError(const std::string& message) : Error(message, kExitMpi) {}
};

}  // namespace sweep
