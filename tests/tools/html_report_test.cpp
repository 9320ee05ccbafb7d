// write_html_report: the page is whole (every marker replaced by its text), and no data document
// can break out of its script element. The page's behaviour is tested in chromium
// (tests/browser, ctest -L browser).
#include "html_report.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace {

std::string page_of(std::string_view json) {
    std::ostringstream out;
    heapkit::tools::write_html_report(out, json);
    return out.str();
}

size_t count(std::string_view text, std::string_view what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) n++;
    return n;
}

TEST(html_report, escapes_every_less_than_sign_of_the_json) {
    std::string out;
    heapkit::tools::append_embedded_json(out, R"({"name":"a</script><!--b<c","n":1})");
    EXPECT_EQ(out, R"({"name":"a\u003c/script>\u003c!--b\u003cc","n":1})");
    std::string plain;
    heapkit::tools::append_embedded_json(plain, R"({"x":[1,2]})");
    EXPECT_EQ(plain, R"({"x":[1,2]})");
}

TEST(html_report, writes_one_whole_page_with_the_data_inline) {
    const std::string json = R"({"command":"./prog </script>","frames":[{"name":"f<int>"}]})";
    const std::string page = page_of(json);
    EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_NE(page.find("</html>"), std::string::npos);
    // the markers are gone, replaced by the style sheet, the script and the data
    EXPECT_EQ(page.find("@heapkit:"), std::string::npos);
    EXPECT_NE(page.find("--heap:"), std::string::npos) << "the style sheet is inline";
    EXPECT_NE(page.find("window.heapkit_report"), std::string::npos) << "the script is inline";
    EXPECT_NE(page.find(R"(<script type="application/json" id="heapkit-data">{"command":"./prog \u003c/script>",)"
                        R"("frames":[{"name":"f\u003cint>"}]}</script>)"),
              std::string::npos);
    // only the page's own two script elements end
    EXPECT_EQ(count(page, "</script>"), 2u);
    // nothing is fetched: no external script, style sheet or image
    EXPECT_EQ(page.find("src=\"http"), std::string::npos);
    EXPECT_EQ(page.find("<link"), std::string::npos);
}

TEST(html_report, data_that_looks_like_a_marker_is_written_as_it_is) {
    const std::string json = R"({"command":"/*@heapkit:script@*/ @heapkit:data@"})";
    const std::string page = page_of(json);
    EXPECT_EQ(count(page, "@heapkit:data@"), 1u);
    EXPECT_EQ(count(page, "/*@heapkit:script@*/"), 1u);
    EXPECT_EQ(page.size(), page_of("").size() + json.size());
}

TEST(html_report, large_documents_are_written_whole) {
    std::string json = "{\"pad\":\"";
    json.append(3u << 20, 'x');
    json += "\"}";
    const std::string page = page_of(json);
    EXPECT_EQ(page.size(), page_of("").size() + json.size());
    EXPECT_NE(page.find(json), std::string::npos);
}

}  // namespace
