// libFuzzer target: any bytes as the text of a study file, through the whole plan parser.
// ConfigError is the parser refusing bad input, as it should; any other exception is left to
// escape, so that the crash report's stack shows where it was thrown.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "plan/plan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const sweep::plan::Study study = sweep::plan::parse_study(text, "fuzz.yaml");

        // Identities and hashes are what resume compares; compute them for every plan.
        for (const sweep::plan::Unit& unit : study.units) unit.id();
        study.plan_hash();
    } catch (const sweep::ConfigError&) {
        // Refused with a message naming the place: the expected end for most inputs.
    }
    return 0;
}
