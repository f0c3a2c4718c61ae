// SPDX-License-Identifier: MIT
#include "pt/out/json_writer.hpp"
#include "support/catch.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

using pt::out::JsonWriter;
using Tree = nlohmann::ordered_json;

namespace {

std::string tree_text(const Tree& tree) {
    return tree.dump(2, ' ', false, Tree::error_handler_t::replace);
}

} // namespace

TEST_CASE("JsonWriter writes nlohmann's dump(2) layout", "[out][json_writer]") {
    std::string text;
    JsonWriter out(text);
    out.begin_object();
    out.member("first", true);
    out.key("nested");
    out.begin_object();
    out.key("none");
    out.begin_object();
    out.end_object();
    out.key("list");
    out.begin_array();
    out.end_array();
    out.key("numbers");
    out.begin_array();
    out.value(0);
    out.value(-1L);
    out.value(9007199254740993LL);
    out.end_array();
    out.end_object();
    out.member("maybe", std::optional<std::string>{});
    out.member("some", std::optional<int>{7});
    out.member("names", std::vector<std::string>{"a", "b\"c"});
    out.key("objects");
    out.begin_array();
    out.begin_object();
    out.member("k", "v");
    out.end_object();
    out.begin_array();
    out.end_array();
    out.null();
    out.end_array();
    out.end_object();

    Tree tree;
    tree["first"] = true;
    tree["nested"] = Tree{{"none", Tree::object()}, {"list", Tree::array()}};
    tree["nested"]["numbers"] = Tree::array({0, -1, 9007199254740993LL});
    tree["maybe"] = nullptr;
    tree["some"] = 7;
    tree["names"] = Tree::array({"a", "b\"c"});
    tree["objects"] = Tree::array({Tree{{"k", "v"}}, Tree::array(), nullptr});
    CHECK(text == tree_text(tree));
}

TEST_CASE("JsonWriter escapes strings as nlohmann does", "[out][json_writer]") {
    const std::vector<std::string> samples = {
        "plain ASCII ~ !",
        "\" and \\",
        "\b\f\n\r\t \x01 \x1f \x7f",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
        "bad \xff byte",
        "cut \xe2\x82",
        "\xc0\xaf overlong",
        std::string("nul \0 byte", 10),
        "",
    };
    for (const auto& sample : samples) {
        std::string text;
        JsonWriter out(text);
        out.value(sample);
        CHECK(text == tree_text(Tree(sample)));
    }
}

TEST_CASE("JsonWriter writes a lone scalar without indentation", "[out][json_writer]") {
    std::string text;
    JsonWriter out(text);
    out.value(false);
    CHECK(text == "false");
}
