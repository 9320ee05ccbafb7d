// write_report_page: the browser test's helper. Reads a JSON data document of `heapkit report` and
// writes the HTML page of it through write_html_report, as `heapkit report --html` does.
//
//   write_report_page DATA.json PAGE.html
#include "html_report.hpp"

#include <fstream>
#include <iostream>
#include <sstream>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: write_report_page DATA.json PAGE.html\n";
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    if (!in) {
        std::cerr << "write_report_page: cannot open " << argv[1] << " for reading: check the path\n";
        return 1;
    }
    std::ostringstream json;
    json << in.rdbuf();
    std::ofstream out(argv[2], std::ios::binary | std::ios::trunc);
    if (!out) {
        std::cerr << "write_report_page: cannot open " << argv[2] << " for writing: check the directory\n";
        return 1;
    }
    heapkit::tools::write_html_report(out, json.str());
    out.close();
    if (!out) {
        std::cerr << "write_report_page: writing " << argv[2] << " failed (disk full?)\n";
        return 1;
    }
    return 0;
}
