#include "metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace sweep::report {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_confusion(const std::vector<int64_t>& counts, int classes) {
    if (classes < 0) {
        throw std::invalid_argument("confusion: negative class count " + std::to_string(classes));
    }
    const size_t cells = static_cast<size_t>(classes) * static_cast<size_t>(classes);
    if (counts.size() != cells) {
        throw std::invalid_argument("confusion: " + std::to_string(counts.size()) + " counts for " +
                                    std::to_string(classes) + " classes");
    }
    for (const int64_t count : counts) {
        if (count < 0) throw std::invalid_argument("confusion: negative count");
    }
}

std::vector<int64_t> row_totals(const std::vector<int64_t>& counts, int classes) {
    const auto width = static_cast<size_t>(classes);
    std::vector<int64_t> totals(width, 0);
    for (size_t row = 0; row < width; ++row) {
        const auto first = counts.begin() + static_cast<std::ptrdiff_t>(row * width);
        totals[row] =
            std::accumulate(first, first + static_cast<std::ptrdiff_t>(width), int64_t{0});
    }
    return totals;
}

// Checks the multi-class inputs and returns the number of samples.
size_t check_multiclass(const std::vector<float>& scores, const std::vector<uint8_t>& labels,
                        int classes) {
    if (classes < 1) {
        throw std::invalid_argument("roc: class count " + std::to_string(classes) + " below 1");
    }
    const size_t samples = labels.size();
    if (scores.size() != samples * static_cast<size_t>(classes)) {
        throw std::invalid_argument("roc: " + std::to_string(scores.size()) + " scores for " +
                                    std::to_string(samples) + " labels and " +
                                    std::to_string(classes) + " classes");
    }
    for (size_t i = 0; i < samples; ++i) {
        if (labels[i] >= classes) {
            throw std::invalid_argument("roc: label " + std::to_string(labels[i]) + " of sample " +
                                        std::to_string(i) + " not below " +
                                        std::to_string(classes) + " classes");
        }
    }
    return samples;
}

}  // namespace

std::vector<double> normalize_rows(const std::vector<int64_t>& counts, int classes) {
    check_confusion(counts, classes);
    const auto width = static_cast<size_t>(classes);
    const std::vector<int64_t> totals = row_totals(counts, classes);

    std::vector<double> rates(counts.size(), 0.0);
    for (size_t row = 0; row < width; ++row) {
        if (totals[row] == 0) continue;  // no samples of this class: zeros, not 0 / 0
        const auto total = static_cast<double>(totals[row]);
        for (size_t column = 0; column < width; ++column) {
            rates[row * width + column] = static_cast<double>(counts[row * width + column]) / total;
        }
    }
    return rates;
}

std::vector<ConfusedPair> most_confused_pairs(const std::vector<int64_t>& counts, int classes,
                                              size_t how_many) {
    check_confusion(counts, classes);
    const std::vector<int64_t> totals = row_totals(counts, classes);

    std::vector<ConfusedPair> pairs;
    for (int row = 0; row < classes; ++row) {
        for (int column = 0; column < classes; ++column) {
            const int64_t count = counts[static_cast<size_t>(row * classes + column)];
            if (row == column || count == 0) continue;
            const double rate = static_cast<double>(count) / static_cast<double>(totals[row]);
            pairs.push_back({row, column, count, rate});
        }
    }

    // For equal counts the higher rate is the smaller row total; comparing the integer totals
    // keeps the order exact where two rounded rates could compare equal.
    const auto ranks_before = [&totals](const ConfusedPair& a, const ConfusedPair& b) {
        if (a.count != b.count) return a.count > b.count;
        if (totals[a.true_class] != totals[b.true_class]) {
            return totals[a.true_class] < totals[b.true_class];
        }
        if (a.true_class != b.true_class) return a.true_class < b.true_class;
        return a.predicted_class < b.predicted_class;
    };
    std::sort(pairs.begin(), pairs.end(), ranks_before);
    if (pairs.size() > how_many) pairs.resize(how_many);
    return pairs;
}

RocCurve roc_curve(const std::vector<float>& scores, const std::vector<uint8_t>& positive) {
    if (scores.size() != positive.size()) {
        throw std::invalid_argument("roc: " + std::to_string(scores.size()) + " scores for " +
                                    std::to_string(positive.size()) + " labels");
    }
    for (size_t i = 0; i < scores.size(); ++i) {
        if (std::isnan(scores[i])) {
            throw std::invalid_argument("roc: score of sample " + std::to_string(i) + " is NaN");
        }
    }
    const auto positives = static_cast<size_t>(
        std::count_if(positive.begin(), positive.end(), [](uint8_t flag) { return flag != 0; }));
    const size_t negatives = positive.size() - positives;
    RocCurve curve;
    if (positives == 0 || negatives == 0) {
        curve.auc = kNaN;
        return curve;
    }

    std::vector<size_t> order(scores.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&scores](size_t a, size_t b) { return scores[a] > scores[b]; });

    // Each step adds its false positives times the mean of the true positives at its two ends.
    // The sums are of integer products, exact in a double below 2^53, so the only rounding in
    // auc is the final division.
    curve.fpr.push_back(0.0);
    curve.tpr.push_back(0.0);
    size_t true_positives = 0;
    size_t false_positives = 0;
    double doubled_area = 0;  // in units of one positive × one negative, times 2
    for (size_t first = 0; first < order.size();) {
        const size_t true_before = true_positives;
        const size_t false_before = false_positives;
        size_t last = first;
        for (; last < order.size() && scores[order[last]] == scores[order[first]]; ++last) {
            if (positive[order[last]] != 0) {
                ++true_positives;
            } else {
                ++false_positives;
            }
        }
        doubled_area += static_cast<double>(false_positives - false_before) *
                        static_cast<double>(true_before + true_positives);
        curve.fpr.push_back(static_cast<double>(false_positives) / static_cast<double>(negatives));
        curve.tpr.push_back(static_cast<double>(true_positives) / static_cast<double>(positives));
        first = last;
    }
    curve.auc =
        doubled_area / (2.0 * static_cast<double>(positives) * static_cast<double>(negatives));
    return curve;
}

RocCurve one_vs_rest(const std::vector<float>& scores, const std::vector<uint8_t>& labels,
                     int classes, int cls) {
    const size_t samples = check_multiclass(scores, labels, classes);
    if (cls < 0 || cls >= classes) {
        throw std::invalid_argument("roc: class " + std::to_string(cls) + " not in [0, " +
                                    std::to_string(classes) + ")");
    }

    const auto width = static_cast<size_t>(classes);
    std::vector<float> column(samples);
    std::vector<uint8_t> positive(samples);
    for (size_t i = 0; i < samples; ++i) {
        column[i] = scores[i * width + static_cast<size_t>(cls)];
        positive[i] = labels[i] == cls ? 1 : 0;
    }
    return roc_curve(column, positive);
}

double macro_auc(const std::vector<float>& scores, const std::vector<uint8_t>& labels,
                 int classes) {
    check_multiclass(scores, labels, classes);
    double sum = 0;
    int counted = 0;
    for (int cls = 0; cls < classes; ++cls) {
        const double auc = one_vs_rest(scores, labels, classes, cls).auc;
        if (std::isnan(auc)) continue;
        sum += auc;
        ++counted;
    }
    return counted == 0 ? kNaN : sum / counted;
}

RocCurve micro_roc(const std::vector<float>& scores, const std::vector<uint8_t>& labels,
                   int classes) {
    const size_t samples = check_multiclass(scores, labels, classes);
    const auto width = static_cast<size_t>(classes);
    std::vector<uint8_t> positive(scores.size(), 0);
    for (size_t i = 0; i < samples; ++i) positive[i * width + labels[i]] = 1;
    return roc_curve(scores, positive);
}

RocCurve thin(const RocCurve& curve, size_t max_points) {
    if (curve.fpr.size() != curve.tpr.size()) {
        throw std::invalid_argument("thin: " + std::to_string(curve.fpr.size()) +
                                    " false positive rates but " +
                                    std::to_string(curve.tpr.size()) + " true positive rates");
    }
    if (max_points < 2) {
        throw std::invalid_argument("thin: max_points " + std::to_string(max_points) +
                                    " cannot keep both ends");
    }
    const size_t points = curve.fpr.size();
    if (points <= max_points) return curve;

    // Index k of max_points goes to round(k · (points − 1) / (max_points − 1)); the steps
    // are at least 1 since points > max_points, so no index repeats, and k = 0 and the
    // last k land on the two ends.
    RocCurve thinned;
    thinned.auc = curve.auc;
    const size_t span = points - 1;
    const size_t steps = max_points - 1;
    for (size_t k = 0; k < max_points; ++k) {
        const size_t index = (k * span + steps / 2) / steps;
        thinned.fpr.push_back(curve.fpr[index]);
        thinned.tpr.push_back(curve.tpr[index]);
    }
    return thinned;
}

}  // namespace sweep::report
