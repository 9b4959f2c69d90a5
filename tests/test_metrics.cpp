#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "metrics.hpp"

using sweep::report::ConfusedPair;
using sweep::report::macro_auc;
using sweep::report::micro_roc;
using sweep::report::most_confused_pairs;
using sweep::report::normalize_rows;
using sweep::report::one_vs_rest;
using sweep::report::roc_curve;
using sweep::report::RocCurve;
using sweep::report::thin;

namespace {

// Points are compared with Approx: rates such as 1/3 are not exact in binary.
void require_points(const RocCurve& curve, const std::vector<double>& fpr,
                    const std::vector<double>& tpr) {
    REQUIRE(curve.fpr.size() == fpr.size());
    REQUIRE(curve.tpr.size() == tpr.size());
    for (size_t i = 0; i < fpr.size(); ++i) {
        INFO("point " << i);
        REQUIRE(curve.fpr[i] == Approx(fpr[i]));
        REQUIRE(curve.tpr[i] == Approx(tpr[i]));
    }
}

// P(positive outscores negative) + 0.5 · P(tie), over every pair: the definition, in O(n²).
double mann_whitney(const std::vector<float>& scores, const std::vector<uint8_t>& positive) {
    double wins = 0;
    double pairs = 0;
    for (size_t i = 0; i < scores.size(); ++i) {
        if (positive[i] == 0) continue;
        for (size_t j = 0; j < scores.size(); ++j) {
            if (positive[j] != 0) continue;
            wins += scores[i] > scores[j] ? 1.0 : scores[i] == scores[j] ? 0.5 : 0.0;
            pairs += 1;
        }
    }
    return wins / pairs;
}

bool same_pair(const ConfusedPair& pair, int true_class, int predicted_class, int64_t count) {
    return pair.true_class == true_class && pair.predicted_class == predicted_class &&
           pair.count == count;
}

}  // namespace

TEST_CASE("report: perfect separation has auc 1", "[report]") {
    // Descending: 0.9 (+) 0.8 (+) 0.2 (−) 0.1 (−); two positives, two negatives.
    // Points (fp/2, tp/2): (0,0) (0,.5) (0,1) (.5,1) (1,1); the area is the whole unit square.
    const RocCurve curve = roc_curve({0.9f, 0.8f, 0.2f, 0.1f}, {1, 1, 0, 0});
    require_points(curve, {0, 0, 0, 0.5, 1}, {0, 0.5, 1, 1, 1});
    REQUIRE(curve.auc == 1.0);
}

TEST_CASE("report: perfectly inverted scores have auc 0", "[report]") {
    // Descending: 0.9 (−) 0.8 (−) 0.2 (+) 0.1 (+).
    // Points (0,0) (.5,0) (1,0) (1,.5) (1,1); every step right happens at tpr 0, so no area.
    const RocCurve curve = roc_curve({0.9f, 0.8f, 0.2f, 0.1f}, {0, 0, 1, 1});
    require_points(curve, {0, 0.5, 1, 1, 1}, {0, 0, 0, 0.5, 1});
    REQUIRE(curve.auc == 0.0);
}

TEST_CASE("report: all scores tied give the diagonal and auc one half", "[report]") {
    // One threshold takes in the positive and both negatives at once: (0,0) → (1,1),
    // a triangle of area 1 · (0 + 1) / 2 = 0.5; every pair is a tie worth half.
    const RocCurve curve = roc_curve({0.5f, 0.5f, 0.5f}, {1, 0, 0});
    require_points(curve, {0, 1}, {0, 1});
    REQUIRE(curve.auc == 0.5);
}

TEST_CASE("report: a tie between a positive and a negative makes a diagonal step", "[report]") {
    // Scores {0.9, 0.8, 0.8, 0.3}, labels {1, 0, 1, 0}: two positives, two negatives.
    // Threshold 0.9: tp 1, fp 0 → (0, .5). Threshold 0.8 takes the tied pair: tp 2, fp 1
    // → (.5, 1). Threshold 0.3: tp 2, fp 2 → (1, 1).
    // Trapezoids: 0 · … + .5 · (.5 + 1) / 2 + .5 · (1 + 1) / 2 = .375 + .5 = .875.
    // Pairs (pos, neg): .9>.8, .9>.3, .8=.8 (half), .8>.3 → 3.5 / 4 = .875 as well.
    const std::vector<float> scores{0.9f, 0.8f, 0.8f, 0.3f};
    const std::vector<uint8_t> labels{1, 0, 1, 0};
    const RocCurve curve = roc_curve(scores, labels);
    require_points(curve, {0, 0, 0.5, 1}, {0, 0.5, 1, 1});
    REQUIRE(curve.auc == 0.875);

    // The same samples in another order give the same curve.
    const RocCurve shuffled = roc_curve({0.3f, 0.8f, 0.9f, 0.8f}, {0, 1, 1, 0});
    require_points(shuffled, {0, 0, 0.5, 1}, {0, 0.5, 1, 1});
    REQUIRE(shuffled.auc == 0.875);
}

TEST_CASE("report: no positives or no negatives give an empty curve and NaN auc", "[report]") {
    const RocCurve no_positives = roc_curve({0.9f, 0.1f}, {0, 0});
    REQUIRE(std::isnan(no_positives.auc));
    REQUIRE(no_positives.fpr.empty());
    REQUIRE(no_positives.tpr.empty());

    const RocCurve no_negatives = roc_curve({0.9f, 0.1f}, {1, 1});
    REQUIRE(std::isnan(no_negatives.auc));
    REQUIRE(no_negatives.fpr.empty());

    REQUIRE(std::isnan(roc_curve({}, {}).auc));
}

TEST_CASE("report: roc rejects mismatched sizes and NaN scores", "[report]") {
    REQUIRE_THROWS_AS(roc_curve({0.9f, 0.1f}, {1}), std::invalid_argument);
    REQUIRE_THROWS_AS(roc_curve({0.9f, std::nanf("")}, {1, 0}), std::invalid_argument);
}

TEST_CASE("report: auc equals the pairwise probability on many tied scores", "[report]") {
    // Scores on a coarse grid of 20 values, so most samples share their score with others.
    std::mt19937 generator(7);
    std::uniform_int_distribution<int> level(0, 19);
    std::bernoulli_distribution is_positive(0.3);
    std::vector<float> scores(500);
    std::vector<uint8_t> positive(500);
    for (size_t i = 0; i < scores.size(); ++i) {
        positive[i] = is_positive(generator) ? 1 : 0;
        scores[i] = static_cast<float>(level(generator) + 5 * positive[i]) / 25.0f;
    }
    const RocCurve curve = roc_curve(scores, positive);
    REQUIRE(curve.auc == Approx(mann_whitney(scores, positive)).epsilon(1e-12));
    REQUIRE(curve.fpr.front() == 0.0);
    REQUIRE(curve.tpr.front() == 0.0);
    REQUIRE(curve.fpr.back() == 1.0);
    REQUIRE(curve.tpr.back() == 1.0);
}

// Three samples, one of each class, scores n × 3:
//   sample 0, class 0: {.7, .2, .1}
//   sample 1, class 1: {.5, .4, .1}
//   sample 2, class 2: {.4, .5, .1}
// One vs rest, one positive against two negatives each:
//   class 0, column {.7+, .5, .4}: .7 beats both → 1
//   class 1, column {.2, .4+, .5}: .4 beats .2, loses to .5 → 1/2
//   class 2, column {.1, .1, .1+}: both pairs tied → 1/2
//   macro = (1 + 1/2 + 1/2) / 3 = 2/3
// Micro pools all nine: positives {.7, .4, .1}, negatives {.2, .1, .5, .1, .4, .5}, 18 pairs.
//   .7 beats all 6 → 6; .4 beats .2 .1 .1, ties .4, loses to .5 .5 → 3.5;
//   .1 ties .1 .1, loses to the rest → 1.  micro = 10.5 / 18 = 7/12, below macro.
// Micro curve, thresholds .7 .5 .4 .2 .1 with (fp/6, tp/3):
//   (0,0) (0,1/3) (2/6,1/3) (3/6,2/3) (4/6,2/3) (1,1); area 1/9 + 1/12 + 1/9 + 5/18 = 7/12.
const std::vector<float> kToyScores{0.7f, 0.2f, 0.1f, 0.5f, 0.4f, 0.1f, 0.4f, 0.5f, 0.1f};
const std::vector<uint8_t> kToyLabels{0, 1, 2};

TEST_CASE("report: one vs rest ranks by the class's own column", "[report]") {
    REQUIRE(one_vs_rest(kToyScores, kToyLabels, 3, 0).auc == 1.0);

    // Column 1 descending: .5 (−) → (.5, 0); .4 (+) → (.5, 1); .2 (−) → (1, 1).
    const RocCurve middle = one_vs_rest(kToyScores, kToyLabels, 3, 1);
    require_points(middle, {0, 0.5, 0.5, 1}, {0, 0, 1, 1});
    REQUIRE(middle.auc == 0.5);

    const RocCurve tied = one_vs_rest(kToyScores, kToyLabels, 3, 2);
    require_points(tied, {0, 1}, {0, 1});
    REQUIRE(tied.auc == 0.5);
}

TEST_CASE("report: micro and macro averaging differ on a three-class toy", "[report]") {
    const double macro = macro_auc(kToyScores, kToyLabels, 3);
    const RocCurve micro = micro_roc(kToyScores, kToyLabels, 3);
    REQUIRE(macro == Approx(2.0 / 3.0));
    REQUIRE(micro.auc == Approx(7.0 / 12.0));
    REQUIRE(micro.auc < macro);
    require_points(micro, {0, 0, 2.0 / 6, 3.0 / 6, 4.0 / 6, 1},
                   {0, 1.0 / 3, 1.0 / 3, 2.0 / 3, 2.0 / 3, 1});
}

TEST_CASE("report: macro auc leaves out classes without an auc", "[report]") {
    // Class 0: positive .8 loses to .9 → 0. Class 1: positive .6 beats .1 → 1.
    // Class 2 never occurs → NaN, left out: (0 + 1) / 2 = .5, not NaN and not 1/3.
    const std::vector<float> scores{0.8f, 0.1f, 0.1f, 0.9f, 0.6f, 0.1f};
    REQUIRE(macro_auc(scores, {0, 1}, 3) == 0.5);

    // Only class 0 occurs: class 0 has no negatives, class 1 no positives.
    REQUIRE(std::isnan(macro_auc({0.9f, 0.1f, 0.8f, 0.2f}, {0, 0}, 2)));
}

TEST_CASE("report: multi-class roc rejects inconsistent inputs", "[report]") {
    REQUIRE_THROWS_AS(micro_roc({0.5f, 0.5f, 0.5f}, {0, 1}, 3), std::invalid_argument);
    REQUIRE_THROWS_AS(micro_roc({0.5f, 0.5f}, {2}, 2), std::invalid_argument);
    REQUIRE_THROWS_AS(one_vs_rest(kToyScores, kToyLabels, 3, 3), std::invalid_argument);
    REQUIRE_THROWS_AS(macro_auc({}, {}, 0), std::invalid_argument);
}

TEST_CASE("report: micro roc of ten thousand samples and ten classes is exact", "[report]") {
    // Sample i's true class scores 1 + i/n, every other class i/n: many distinct scores, yet
    // every positive (at least 1) outscores every negative (below 1), so both averages are 1.
    const size_t samples = 10000;
    const int classes = 10;
    std::vector<float> scores;
    std::vector<uint8_t> labels;
    for (size_t i = 0; i < samples; ++i) {
        const auto label = static_cast<uint8_t>(i % classes);
        labels.push_back(label);
        for (int cls = 0; cls < classes; ++cls) {
            const float base = static_cast<float>(i) / static_cast<float>(samples);
            scores.push_back(cls == label ? 1.0f + base : base);
        }
    }
    REQUIRE(micro_roc(scores, labels, classes).auc == 1.0);
    REQUIRE(macro_auc(scores, labels, classes) == 1.0);
}

TEST_CASE("report: confusion rows normalize to fractions, an empty row stays zero", "[report]") {
    // Row 0 totals 4: {2, 1, 1} / 4. Row 1 has no samples. Row 2 totals 4: {0, 3, 1} / 4.
    const std::vector<double> rates = normalize_rows({2, 1, 1, 0, 0, 0, 0, 3, 1}, 3);
    const std::vector<double> expected{0.5, 0.25, 0.25, 0, 0, 0, 0, 0.75, 0.25};
    REQUIRE(rates == expected);

    REQUIRE(normalize_rows({}, 0).empty());
    REQUIRE_THROWS_AS(normalize_rows({1, 2, 3}, 2), std::invalid_argument);
    REQUIRE_THROWS_AS(normalize_rows({1, -1, 0, 1}, 2), std::invalid_argument);
}

// Row totals 7, 6, 4, 6. Off-diagonal cells with samples, and their rates:
//   count 2: (0→1) 2/7, (1→2) 2/6, (2→1) 2/4
//   count 1: (1→0) 1/6, (3→0) 1/6, (3→2) 1/6
// Expected order: the count-2 cells by rate, .5 > 1/3 > 2/7, which is not class order;
// then the count-1 cells, all at rate 1/6, by true class and then by predicted class.
// The six empty off-diagonal cells and the large diagonal never appear.
const std::vector<int64_t> kConfusion{
    5, 2, 0, 0,  // true 0
    1, 3, 2, 0,  // true 1
    0, 2, 2, 0,  // true 2
    1, 0, 1, 4,  // true 3
};

TEST_CASE("report: most confused pairs rank by count, then rate, then class", "[report]") {
    const auto pairs = most_confused_pairs(kConfusion, 4, 10);
    REQUIRE(pairs.size() == 6);
    REQUIRE(same_pair(pairs[0], 2, 1, 2));
    REQUIRE(same_pair(pairs[1], 1, 2, 2));
    REQUIRE(same_pair(pairs[2], 0, 1, 2));
    REQUIRE(same_pair(pairs[3], 1, 0, 1));
    REQUIRE(same_pair(pairs[4], 3, 0, 1));
    REQUIRE(same_pair(pairs[5], 3, 2, 1));
    REQUIRE(pairs[0].rate == 0.5);
    REQUIRE(pairs[1].rate == Approx(1.0 / 3.0));
    REQUIRE(pairs[2].rate == Approx(2.0 / 7.0));
    REQUIRE(pairs[5].rate == Approx(1.0 / 6.0));
}

TEST_CASE("report: most confused pairs stop at the number asked for", "[report]") {
    const auto two = most_confused_pairs(kConfusion, 4, 2);
    REQUIRE(two.size() == 2);
    REQUIRE(same_pair(two[0], 2, 1, 2));
    REQUIRE(same_pair(two[1], 1, 2, 2));
    REQUIRE(most_confused_pairs(kConfusion, 4, 0).empty());

    // A perfect classifier confuses nothing.
    REQUIRE(most_confused_pairs({3, 0, 0, 5}, 2, 5).empty());
    REQUIRE_THROWS_AS(most_confused_pairs({1, 2, 3}, 2, 1), std::invalid_argument);
}

TEST_CASE("report: thin keeps both ends and the full curve's auc", "[report]") {
    // Ten distinct scores, alternating labels: eleven points. Positives 1.0 .8 .6 .4 .2 beat
    // 5, 4, 3, 2, 1 of the negatives .9 .7 .5 .3 .1: auc 15 / 25 = .6.
    const std::vector<float> scores{1.0f, 0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f, 0.3f, 0.2f, 0.1f};
    const std::vector<uint8_t> labels{1, 0, 1, 0, 1, 0, 1, 0, 1, 0};
    const RocCurve curve = roc_curve(scores, labels);
    REQUIRE(curve.fpr.size() == 11);
    REQUIRE(curve.auc == Approx(0.6));

    // Four points out of eleven: indices round(k · 10 / 3) = 0, 3, 7, 10.
    const RocCurve thinned = thin(curve, 4);
    REQUIRE(thinned.auc == curve.auc);
    require_points(thinned, {curve.fpr[0], curve.fpr[3], curve.fpr[7], curve.fpr[10]},
                   {curve.tpr[0], curve.tpr[3], curve.tpr[7], curve.tpr[10]});
    REQUIRE(thinned.fpr.front() == 0.0);
    REQUIRE(thinned.tpr.back() == 1.0);

    const RocCurve ends = thin(curve, 2);
    require_points(ends, {0, 1}, {0, 1});
    REQUIRE(ends.auc == curve.auc);

    const RocCurve whole = thin(curve, 11);
    REQUIRE(whole.fpr == curve.fpr);
    REQUIRE(whole.tpr == curve.tpr);

    REQUIRE_THROWS_AS(thin(curve, 1), std::invalid_argument);
}
