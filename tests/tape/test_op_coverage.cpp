// The op table against tape/include/tape/ops.h: ops.h is read as text, the functions it declares
// at namespace scope are its ops (member functions of its option structs are not), and every one
// needs a row, with as many declarations as its overloads. Also: the rows are well formed.
#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include "op_table.h"
#include "support/test_support.h"

namespace {

using test::OpInfo;

// ---------------------------------------------------------------- reading a header

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

bool starts_with_word(const std::string& s, const std::string& word) {
  return s.compare(0, word.size(), word) == 0 && (s.size() == word.size() || !is_word_char(s[word.size()]));
}

// Comments and preprocessor lines become a space, string and character literals empty ones.
std::string code_only(const std::string& text) {
  std::string out;
  bool line_start = true;  // only white space so far on this line
  for (std::size_t i = 0, end = 0; i < text.size(); i = end) {
    const char c = text[i];
    std::string kept(1, c);
    end = i + 1;
    if (text.compare(i, 2, "//") == 0 || (line_start && c == '#')) {
      end = std::min(text.find('\n', i), text.size());  // the newline stays
      kept = " ";
    } else if (text.compare(i, 2, "/*") == 0) {
      end = std::min(text.find("*/", i + 2), text.size() - 2) + 2;
      kept = " ";
    } else if (c == '"' || c == '\'') {
      while (end < text.size() && text[end] != c) end += text[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, text.size());
      kept = std::string(2, c);
    }
    out += kept;
    line_start = c == '\n' || (line_start && (c == ' ' || c == '\t'));
  }
  return out;
}

// The index just past the brace that closes the one at `open`.
std::size_t past_matching_brace(const std::string& code, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < code.size(); ++i) {
    depth += code[i] == '{' ? 1 : code[i] == '}' ? -1 : 0;
    if (depth == 0) return i + 1;
  }
  return code.size();
}

// Attributes ([[nodiscard]]) and a template header removed, white space folded.
std::string normalized(const std::string& statement) {
  std::string s;
  for (std::size_t i = 0; i < statement.size(); ++i) {
    if (statement.compare(i, 2, "[[") == 0) {
      i = statement.find("]]", i);
      if (i == std::string::npos) break;
      ++i;
    } else if (std::isspace(static_cast<unsigned char>(statement[i]))) {
      if (!s.empty() && s.back() != ' ') s += ' ';
    } else {
      s += statement[i];
    }
  }
  s = trim(s);
  if (starts_with_word(s, "template")) {
    int depth = 0;
    for (std::size_t i = s.find('<'); i < s.size(); ++i) {
      depth += s[i] == '<' ? 1 : s[i] == '>' ? -1 : 0;
      if (depth == 0) return trim(s.substr(i + 1));
    }
  }
  return s;
}

// The function a namespace-scope statement declares or defines, if it is one: the name in front
// of the first parenthesis, after a return type (return types without parentheses).
std::optional<std::string> function_name(const std::string& statement) {
  const std::string s = normalized(statement);
  for (const char* word : {"struct", "class", "enum", "union", "using", "typedef", "friend", "static_assert"}) {
    if (starts_with_word(s, word)) return std::nullopt;
  }
  const std::size_t open = s.find('(');
  if (open == std::string::npos) return std::nullopt;
  std::string head = trim(s.substr(0, open));
  std::string name;
  const std::size_t op = head.rfind("operator");
  if (op != std::string::npos && (op == 0 || !is_word_char(head[op - 1])) &&
      (op + 8 == head.size() || !is_word_char(head[op + 8]))) {
    for (char c : head.substr(op)) name += c == ' ' ? "" : std::string(1, c);
    if (name == "operator" && s.compare(open, 2, "()") == 0) name = "operator()";
    head = head.substr(0, op);
  } else {
    std::size_t begin = head.size();
    while (begin > 0 && (is_word_char(head[begin - 1]) || head[begin - 1] == ':')) --begin;
    name = head.substr(begin);
    name = name.substr(name.rfind(':') == std::string::npos ? 0 : name.rfind(':') + 1);
    head = head.substr(0, begin);
  }
  if (name.empty() || trim(head).empty() || head.find('=') != std::string::npos) return std::nullopt;
  return name;
}

// The functions declared or defined at namespace scope, once per declaration, in order.
std::vector<std::string> namespace_scope_functions(const std::string& header) {
  const std::string code = code_only(header);
  std::vector<std::string> names;
  std::string statement;
  int parens = 0;
  const auto finish = [&](bool keep_if_not_function) {
    const auto name = function_name(statement);
    if (name) names.push_back(*name);
    if (name || !keep_if_not_function) statement.clear();
  };
  for (std::size_t i = 0; i < code.size(); ++i) {
    const char c = code[i];
    if (parens == 0 && c == '{') {
      const std::string head = normalized(statement);
      if (starts_with_word(head, "namespace") || starts_with_word(head, "extern")) {
        statement.clear();  // a namespace body is namespace scope again
        continue;
      }
      i = past_matching_brace(code, i) - 1;  // a class, enum or function body, or an initializer
      finish(true);                          // a function definition ends here; a struct at its ';'
    } else if (parens == 0 && (c == ';' || c == '}')) {
      finish(false);  // '}' closes a namespace
    } else {
      parens += c == '(' ? 1 : c == ')' ? -1 : 0;
      statement += c;
    }
  }
  return names;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  INFO("reading " << path);
  REQUIRE(in);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

}  // namespace

TEST_CASE("reading a header: namespace-scope functions, with overloads and multi-line declarations", "[optable]") {
  const std::string header = R"(// A comment with fake(x) and a brace {
#pragma once
#include <vector>
namespace tape {
struct Options {
  int a = 1;
  static Options make() { return {}; }
  Tensor member(const Tensor& x) const;
};
enum class Mode { a, b };
using Fn = std::function<Tensor(const Tensor&)>;
constexpr int kLimit = limit_of(1, 2);
const char* kText = "braces { and parens ( in a string";
/* a block comment: Tensor hidden(const Tensor& x); */
Tensor first(const Tensor& x, const std::vector<std::int64_t>& axes = {},
             bool keepdims = false);
Tensor
second(const Tensor& x,
       const Options& options = {});  // a default with braces
[[nodiscard]] Result third(const Tensor& x);
inline Tensor fourth(const Tensor& x) { return first(x, {0}); }
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator + (const Tensor& a, double b);
Tensor operator-(const Tensor& x);
template <class F>
Tensor fifth(F f);
namespace detail {
Tensor sixth(const Tensor& x);
}  // namespace detail
}  // namespace tape
)";
  const std::vector<std::string> expected = {"first",     "second",    "third", "fourth", "operator+",
                                             "operator+", "operator-", "fifth", "sixth"};
  CHECK(namespace_scope_functions(header) == expected);
}

TEST_CASE("the op table has a row for every op ops.h declares, and only for those", "[optable]") {
  std::map<std::string, int> declared;
  for (const auto& name : namespace_scope_functions(read_text(TAPE_OPS_HEADER))) ++declared[name];
  REQUIRE(declared.size() >= 40);  // the header was found and read
  std::map<std::string, const OpInfo*> rows;
  for (const OpInfo& op : test::op_table()) rows[op.name] = &op;

  std::vector<std::string> problems;
  for (const auto& [name, count] : declared) {
    const auto row = rows.find(name);
    if (row == rows.end()) {
      problems.push_back("ops.h declares " + name + ", which has no row in the op table (tests/tape/op_table.cpp)");
    } else if (row->second->declarations != count) {
      problems.push_back(name + ": ops.h declares it " + std::to_string(count) + " times, its row says " +
                         std::to_string(row->second->declarations) + " (a sample for each overload?)");
    }
  }
  for (const auto& [name, op] : rows) {
    if (!declared.count(name))
      problems.push_back("the op table has a row for " + name + ", which ops.h does not declare");
  }
  CHECK(problems == std::vector<std::string>{});
}

TEST_CASE("the op table's rows are well formed", "[optable]") {
  std::set<std::string> names;
  for (const OpInfo& op : test::op_table()) {
    INFO(op.name);
    CHECK(names.insert(op.name).second);  // one row per op
    CHECK((op.order >= 0 && op.order <= 2));
    if (op.order < 2 || !op.samples) CHECK_FALSE(op.why.empty());
    if (!op.samples) {
      CHECK(op.order == 0);
      continue;
    }
    if (op.order == 0) CHECK(op.linear == test::Linear::no);
    bool any_linear = false, any_finite_differences = false;
    const auto samples = op.samples();
    CHECK_FALSE(samples.empty());
    for (const auto& s : samples) {
      INFO(s.label);
      for (const auto& x : s.inputs) CHECK((x.defined() && x.dtype() == tape::DType::f64));
      CHECK(s.f(s.inputs).defined());
      any_linear = any_linear || test::linearity(op, s) != test::Linear::no;
      any_finite_differences = any_finite_differences || s.finite_differences;
    }
    CHECK(any_linear == (op.linear != test::Linear::no));  // the adjoint test has something to check
    CHECK(any_finite_differences);
  }
}
