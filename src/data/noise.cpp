// Symmetric label noise; the contract is in data.hpp.
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "data/data.hpp"

namespace sweep::data {

namespace {

// A draw in [0, bound), bound > 0, every value equally likely. The engine's output sequence
// is fixed by the standard, but std::uniform_int_distribution and std::shuffle are not, so
// the mapping lives here: one seed then gives the same noise with every standard library.
uint64_t draw_below(std::mt19937_64& engine, uint64_t bound) {
    // 2^64 mod bound: rejecting the outputs below it leaves a multiple of bound outputs, so
    // the remainder is unbiased.
    const uint64_t rejected = (0 - bound) % bound;
    for (;;) {
        const uint64_t value = engine();
        if (value >= rejected) {
            return value % bound;
        }
    }
}

void check_noise_arguments(const std::vector<uint8_t>& labels, int class_count, double epsilon) {
    if (class_count < 2 || class_count > 256) {
        throw DataError("label noise: class count " + std::to_string(class_count) +
                        " is outside 2 .. 256");
    }
    if (!(epsilon >= 0 && epsilon < 1)) {  // also rejects NaN
        std::array<char, 32> text{};       // shortest form that reads back as the same double
        char* end = std::to_chars(text.data(), text.data() + text.size(), epsilon).ptr;
        throw DataError("label noise: epsilon " + std::string(text.data(), end) +
                        " is outside [0, 1)");
    }
    for (size_t index = 0; index < labels.size(); ++index) {
        if (labels[index] >= class_count) {
            throw DataError("label noise: label " + std::to_string(labels[index]) + " at index " +
                            std::to_string(index) + " is out of range 0 .. " +
                            std::to_string(class_count - 1));
        }
    }
}

}  // namespace

NoisyLabels apply_symmetric_noise(const std::vector<uint8_t>& labels, int class_count,
                                  double epsilon, uint64_t rng_seed) {
    check_noise_arguments(labels, class_count, epsilon);

    std::vector<std::vector<size_t>> members(static_cast<size_t>(class_count));
    for (size_t index = 0; index < labels.size(); ++index) {
        members[labels[index]].push_back(index);
    }

    // The order of draws below is part of every recorded study: changing it changes which
    // labels a seed flips. Per class in order 0 .. C-1, per flip: the example, then its class.
    NoisyLabels noisy{labels, std::vector<int64_t>(static_cast<size_t>(class_count) * class_count)};
    std::mt19937_64 engine(rng_seed);
    for (int true_class = 0; true_class < class_count; ++true_class) {
        std::vector<size_t>& examples = members[static_cast<size_t>(true_class)];
        const double expected_flips = epsilon * static_cast<double>(examples.size());
        const auto flips = static_cast<size_t>(std::llround(expected_flips));

        // Partial Fisher-Yates: examples[0 .. flips) become a uniform sample without
        // replacement.
        for (size_t flip = 0; flip < flips; ++flip) {
            const size_t pick = flip + draw_below(engine, examples.size() - flip);
            std::swap(examples[flip], examples[pick]);

            // Skipping over the true class makes the other C-1 classes equally likely.
            const auto other = static_cast<int>(draw_below(engine, class_count - 1));
            noisy.labels[examples[flip]] =
                static_cast<uint8_t>(other < true_class ? other : other + 1);
        }
    }

    for (size_t index = 0; index < labels.size(); ++index) {
        ++noisy.counts[size_t{labels[index]} * class_count + noisy.labels[index]];
    }
    return noisy;
}

}  // namespace sweep::data
