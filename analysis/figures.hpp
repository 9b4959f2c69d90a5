// Owns the report's figures: each is NAME.dat (its data), NAME.gp (a gnuplot script) and NAME.png.
// Needs the gnuplot program (Debian: gnuplot-nox) at run time; knows nothing of HDF5 or MPI.
// Not shared across threads: each plot writes its files and waits for its own gnuplot process.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "metrics.hpp"

namespace sweep::report {

// Throws Error "gnuplot: not found; install the Debian package gnuplot-nox" when no executable
// gnuplot is on PATH. Cheap: call it before writing anything, so a report fails early.
void require_gnuplot();

// Where one figure goes and what it says on top. Its files are dir/name.{dat,gp,png}; the script
// names its data and output relative to dir, so `gnuplot name.gp` inside dir redraws it after a
// user restyles it.
struct Figure {
    std::filesystem::path dir;
    std::string name;   // file stem: lower case, digits, '-'
    std::string title;  // may hold '\n' for a second line
};

// One run's learning curve: accuracies in percent, one value per epoch (epochs count from 1).
struct RunCurve {
    std::string label;
    std::vector<double> train_accuracy;
    std::vector<double> test_accuracy;
};

// Train (dashed) and test (solid) accuracy per epoch, one colour per run.
void plot_learning_curves(const Figure& figure, const std::vector<RunCurve>& runs);

// A square matrix drawn as coloured cells with each value printed in its cell.
struct HeatMap {
    std::vector<std::string> class_names;  // both axes
    std::vector<double> values;            // rows × columns, row-major, [row = y][column = x]
    std::string row_label;                 // y axis, e.g. "true class"
    std::string column_label;              // x axis, e.g. "predicted class"
    std::string value_label;               // colour bar
    int decimals = 2;                      // printed in the cells
    double range_max = 0;                  // top of the colour bar at least; above 0 for rates
};
void plot_heat_map(const Figure& figure, const HeatMap& map);

// A row of test images, each with a caption; pixels are 0-255, [image][channel][row][column].
// One channel is drawn in grey, three as red, green and blue planes.
struct ImageStrip {
    int channels = 1, rows = 28, cols = 28;
    std::vector<std::vector<uint8_t>> images;  // each channels × rows × cols
    std::vector<std::string> captions;         // one per image
};
void plot_image_strip(const Figure& figure, const ImageStrip& strip);

// One ROC curve of a plot, with its label (which should carry its AUC).
struct LabelledRoc {
    std::string label;
    RocCurve curve;
    bool emphasized = false;  // drawn thicker and black, for an averaged curve
};
void plot_roc_curves(const Figure& figure, const std::vector<LabelledRoc>& curves);

// A mean curve per epoch with a band of ±1 standard deviation (both in percent); std may be NaN
// (fewer than two runs), which draws the mean alone.
struct BandCurve {
    std::string label;
    std::vector<double> mean;
    std::vector<double> std;
};
void plot_band_curves(const Figure& figure, const std::string& y_label,
                      const std::vector<BandCurve>& curves);

}  // namespace sweep::report
