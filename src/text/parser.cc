// IR text parser: a recursive-descent reader of the syntax in docs/ir.md that builds the Graph
// through the public graph API (graph_add_symbol, graph_add_input, graph_add_node), so output types
// always come from shape inference; types written in the text are only checked against it.
// Attribute values are read by walking each attribute struct's KILN_FIELDS list, so this file has
// no per-op code. Constant data (lists, splat, random) is decoded in constant_data.cc.
//
// Robustness: every token read is bounds-checked by the lexer, dim expressions are limited in
// nesting depth and size, all other lists are read iteratively, and numbers are converted with
// std::from_chars and range checks. It does not recover from errors: the first one is returned.
#include "kiln/text/parser.h"

#include <charconv>
#include <unordered_map>

#include "constant_data.h"
#include "kiln/ir/verifier.h"
#include "lexer.h"

namespace kiln {
namespace {

using text::LexMode;
using text::Token;
using text::TokenKind;

constexpr int kMaxDimNesting = 64;      // parentheses, calls and unary minus in one dim expression
constexpr size_t kMaxDimTerms = 256;    // terms of one canonical dim expression
constexpr size_t kMaxDimFactors = 64;   // factors of one term

bool is_keyword(const Token& t, std::string_view word) {
  return t.kind == TokenKind::kIdent && t.text == word;
}

std::string dtype_names() {
  std::string out;
#define KILN_DTYPE_NAME_LIST_(e, n, s) out += out.empty() ? n : ", " n;
  KILN_DTYPE_LIST(KILN_DTYPE_NAME_LIST_)
#undef KILN_DTYPE_NAME_LIST_
  return out;
}

template <typename E>
concept NamedEnum = requires { EnumNames<E>::kNames; };

class Parser {
 public:
  Parser(std::string_view source, std::string_view filename)
      : filename_(filename), lexer_(source) {}

  Expected<Graph> parse() {
    advance();
    KILN_RETURN_IF_ERROR(parse_graph_body());
    KILN_RETURN_IF_ERROR(verify_graph(g_).with_context(filename_));
    return std::move(g_);
  }

 private:
  struct Definition {
    ValueId id;
    size_t offset;
  };

  // ---- tokens and errors ---------------------------------------------------------------------
  void advance(LexMode mode = LexMode::kNormal) { tok_ = lexer_.lex(tok_.end, mode); }
  bool at(TokenKind kind) const { return tok_.kind == kind; }
  bool accept(TokenKind kind, LexMode mode = LexMode::kNormal) {
    if (!at(kind)) return false;
    advance(mode);
    return true;
  }
  std::string where(size_t offset) const {
    return str_cat(filename_, ":", lexer_.line_of(offset), ":", lexer_.column_of(offset));
  }
  template <typename... Args>
  Status error_at(size_t offset, const Args&... args) const {
    return invalid_argument(where(offset), ": ", args...);
  }
  Status expected(std::string_view what) const {
    if (at(TokenKind::kError)) return error_at(tok_.offset, tok_.error);
    return error_at(tok_.offset, "expected ", what, ", found ", text::describe_token(tok_));
  }
  Status expect(TokenKind kind, std::string_view what, LexMode mode = LexMode::kNormal) {
    if (!at(kind)) return expected(what);
    advance(mode);
    return ok_status();
  }
  Status expect_keyword(std::string_view word) {
    if (!is_keyword(tok_, word)) return expected(str_cat("'", word, "'"));
    advance();
    return ok_status();
  }

  // ---- numbers -------------------------------------------------------------------------------
  // An optionally negative integer literal. The token after it is read in `mode`.
  Expected<int64_t> parse_int(std::string_view what, LexMode mode = LexMode::kNormal) {
    size_t start = tok_.offset;
    bool negative = accept(TokenKind::kMinus);
    if (!at(TokenKind::kInt)) return expected(what);
    uint64_t magnitude = 0;
    auto [ptr, ec] = std::from_chars(tok_.text.data(), tok_.text.data() + tok_.text.size(),
                                     magnitude);
    const uint64_t limit = negative ? (uint64_t{1} << 63) : (uint64_t{1} << 63) - 1;
    if (ec != std::errc() || magnitude > limit) {
      return error_at(start, "integer ", negative ? "-" : "", tok_.text, " does not fit in int64");
    }
    advance(mode);
    return negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
  }

  // A number for constant data: an integer (kept exact), a float, inf, nan, true or false.
  Expected<DataNumber> parse_data_number() {
    DataNumber n;
    n.offset = tok_.offset;
    bool negative = accept(TokenKind::kMinus);
    if (at(TokenKind::kIdent) && !negative && (tok_.text == "true" || tok_.text == "false")) {
      n.is_int = true;
      n.i = tok_.text == "true" ? 1 : 0;
      advance();
      return n;
    }
    if (at(TokenKind::kInt)) {
      std::string digits = str_cat(negative ? "-" : "", tok_.text);
      auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n.i);
      if (ec == std::errc() && !(negative && n.i == 0)) {  // "-0" is the double -0.0
        n.is_int = true;
        advance();
        return n;
      }
    }
    KILN_ASSIGN_OR_RETURN(double d, parse_unsigned_double("a number"));
    n.d = negative ? -d : d;
    return n;
  }

  Expected<double> parse_double(std::string_view what) {
    bool negative = accept(TokenKind::kMinus);
    KILN_ASSIGN_OR_RETURN(double d, parse_unsigned_double(what));
    return negative ? -d : d;
  }

  Expected<double> parse_unsigned_double(std::string_view what) {
    if (is_keyword(tok_, "inf") || is_keyword(tok_, "nan")) {
      double d = tok_.text == "inf" ? std::numeric_limits<double>::infinity()
                                    : std::numeric_limits<double>::quiet_NaN();
      advance();
      return d;
    }
    if (!at(TokenKind::kInt) && !at(TokenKind::kFloat)) return expected(what);
    double d = 0;
    auto [ptr, ec] = std::from_chars(tok_.text.data(), tok_.text.data() + tok_.text.size(), d);
    if (ec != std::errc() || ptr != tok_.text.data() + tok_.text.size()) {
      return error_at(tok_.offset, "number ", tok_.text, " is out of the range of a double");
    }
    advance();
    return d;
  }

  // ---- dim expressions -----------------------------------------------------------------------
  // expr := term (('+' | '-') term)*     term := unary (('*' | '//' | '%') unary)*
  // unary := '-' unary | primary
  // primary := INT | SYMBOL | FN '(' expr ',' expr ')' | '(' expr ')'
  // The token after each operand is read in LexMode::kDimOperator.
  Expected<DimExpr> parse_dim() {
    KILN_ASSIGN_OR_RETURN(DimExpr lhs, parse_dim_term());
    while (at(TokenKind::kPlus) || at(TokenKind::kMinus)) {
      Token op = tok_;
      advance();
      KILN_ASSIGN_OR_RETURN(DimExpr rhs, parse_dim_term());
      lhs = op.kind == TokenKind::kPlus ? lhs + rhs : lhs - rhs;
      KILN_RETURN_IF_ERROR(check_dim_size(lhs, op.offset));
    }
    return lhs;
  }

  Expected<DimExpr> parse_dim_term() {
    KILN_ASSIGN_OR_RETURN(DimExpr lhs, parse_dim_unary());
    while (at(TokenKind::kStar) || at(TokenKind::kSlashSlash) || at(TokenKind::kPercent)) {
      Token op = tok_;
      advance();
      KILN_ASSIGN_OR_RETURN(DimExpr rhs, parse_dim_unary());
      if (op.kind == TokenKind::kStar) {
        lhs = lhs * rhs;
      } else if (op.kind == TokenKind::kSlashSlash) {
        lhs = floordiv(lhs, rhs);
      } else {
        lhs = mod(lhs, rhs);
      }
      KILN_RETURN_IF_ERROR(check_dim_size(lhs, op.offset));
    }
    return lhs;
  }

  Expected<DimExpr> parse_dim_unary() {
    struct DepthGuard {
      int& depth;
      explicit DepthGuard(int& d) : depth(d) { ++depth; }
      ~DepthGuard() { --depth; }
    } guard(dim_depth_);
    if (dim_depth_ > kMaxDimNesting) {
      return error_at(tok_.offset, "dim expression nested more than ", kMaxDimNesting, " levels");
    }
    if (at(TokenKind::kMinus)) {
      size_t start = tok_.offset;
      Token next = lexer_.lex(tok_.end, LexMode::kNormal);
      if (next.kind == TokenKind::kInt) {  // a negative literal, so that INT64_MIN parses
        KILN_ASSIGN_OR_RETURN(int64_t v, parse_int("an integer", LexMode::kDimOperator));
        return DimExpr(v);
      }
      advance();
      KILN_ASSIGN_OR_RETURN(DimExpr operand, parse_dim_unary());
      DimExpr negated = -operand;
      KILN_RETURN_IF_ERROR(check_dim_size(negated, start));
      return negated;
    }
    return parse_dim_primary();
  }

  Expected<DimExpr> parse_dim_primary() {
    if (at(TokenKind::kInt)) {
      KILN_ASSIGN_OR_RETURN(int64_t v, parse_int("an integer", LexMode::kDimOperator));
      return DimExpr(v);
    }
    if (accept(TokenKind::kLParen)) {
      KILN_ASSIGN_OR_RETURN(DimExpr inner, parse_dim());
      KILN_RETURN_IF_ERROR(expect(TokenKind::kRParen, "')'", LexMode::kDimOperator));
      return inner;
    }
    if (!at(TokenKind::kIdent)) return expected("a dim (an integer, a symbol or an expression)");
    Token name = tok_;
    advance(LexMode::kDimOperator);
    if (at(TokenKind::kLParen)) {
      static constexpr std::string_view kFunctions[] = {"floordiv", "mod", "min", "max"};
      int fn = -1;
      for (int i = 0; i < 4; ++i) {
        if (name.text == kFunctions[i]) fn = i;
      }
      if (fn < 0) {
        return error_at(name.offset, "unknown dim function '", name.text,
                        "' (expected floordiv, mod, min or max)");
      }
      advance();
      KILN_ASSIGN_OR_RETURN(DimExpr a, parse_dim());
      KILN_RETURN_IF_ERROR(expect(TokenKind::kComma, "','"));
      KILN_ASSIGN_OR_RETURN(DimExpr b, parse_dim());
      KILN_RETURN_IF_ERROR(expect(TokenKind::kRParen, "')'", LexMode::kDimOperator));
      DimExpr r = fn == 0 ? floordiv(a, b) : fn == 1 ? mod(a, b) : fn == 2 ? min(a, b) : max(a, b);
      KILN_RETURN_IF_ERROR(check_dim_size(r, name.offset));
      return r;
    }
    int32_t symbol = graph_find_symbol(g_, name.text);
    if (symbol < 0) {
      return error_at(name.offset, "unknown shape symbol '", name.text, "' (declare it with ",
                      "'symbol ", name.text, " in [MIN, MAX] opt OPT' before use)");
    }
    return DimExpr::symbol(symbol);
  }

  Status check_dim_size(const DimExpr& e, size_t offset) const {
    if (e.terms().size() > kMaxDimTerms) {
      return error_at(offset, "dim expression has more than ", kMaxDimTerms, " terms");
    }
    for (const DimTerm& t : e.terms()) {
      if (t.factors.size() > kMaxDimFactors) {
        return error_at(offset, "dim expression has a product of more than ", kMaxDimFactors,
                        " factors");
      }
    }
    return ok_status();
  }

  // ---- types ---------------------------------------------------------------------------------
  Expected<TensorType> parse_type() {
    if (!at(TokenKind::kIdent)) return expected("a type such as f32[2, 3]");
    std::optional<DType> dtype = dtype_from_name(tok_.text);
    if (!dtype) {
      return error_at(tok_.offset, "unknown dtype '", tok_.text, "' (expected one of ",
                      dtype_names(), ")");
    }
    advance();
    TensorType type{*dtype, {}};
    KILN_ASSIGN_OR_RETURN(type.shape, parse_list<DimExpr>([&] { return parse_dim(); }));
    return type;
  }

  // '[' [elem (',' elem)*] ']'
  template <typename T, typename F>
  Expected<std::vector<T>> parse_list(F&& elem) {
    KILN_RETURN_IF_ERROR(expect(TokenKind::kLBracket, "'['"));
    std::vector<T> out;
    if (accept(TokenKind::kRBracket)) return out;
    while (true) {
      KILN_ASSIGN_OR_RETURN(T v, elem());
      out.push_back(std::move(v));
      if (accept(TokenKind::kComma)) continue;
      KILN_RETURN_IF_ERROR(expect(TokenKind::kRBracket, "',' or ']'"));
      return out;
    }
  }

  // ---- attribute values, by field type -------------------------------------------------------
  Status parse_field(int64_t& out) {
    KILN_ASSIGN_OR_RETURN(out, parse_int("an integer"));
    return ok_status();
  }
  Status parse_field(double& out) {
    KILN_ASSIGN_OR_RETURN(out, parse_double("a number"));
    return ok_status();
  }
  Status parse_field(bool& out) {
    if (!is_keyword(tok_, "true") && !is_keyword(tok_, "false")) return expected("true or false");
    out = tok_.text == "true";
    advance();
    return ok_status();
  }
  Status parse_field(DType& out) {
    if (!at(TokenKind::kIdent)) return expected("a dtype");
    std::optional<DType> dtype = dtype_from_name(tok_.text);
    if (!dtype) {
      return error_at(tok_.offset, "unknown dtype '", tok_.text, "' (expected one of ",
                      dtype_names(), ")");
    }
    out = *dtype;
    advance();
    return ok_status();
  }
  template <NamedEnum E>
  Status parse_field(E& out) {
    std::string names;
    for (std::string_view n : EnumNames<E>::kNames) names += str_cat(names.empty() ? "" : ", ", n);
    if (at(TokenKind::kIdent)) {
      size_t i = 0;
      for (std::string_view n : EnumNames<E>::kNames) {
        if (tok_.text == n) {
          out = static_cast<E>(i);
          advance();
          return ok_status();
        }
        ++i;
      }
      return error_at(tok_.offset, "unknown value '", tok_.text, "' (expected one of ", names, ")");
    }
    return expected(str_cat("one of ", names));
  }
  Status parse_field(std::vector<int64_t>& out) {
    KILN_ASSIGN_OR_RETURN(out, parse_list<int64_t>([&] { return parse_int("an integer"); }));
    return ok_status();
  }
  Status parse_field(std::vector<double>& out) {
    KILN_ASSIGN_OR_RETURN(out, parse_list<double>([&] { return parse_double("a number"); }));
    return ok_status();
  }
  Status parse_field(DimExpr& out) {
    KILN_ASSIGN_OR_RETURN(out, parse_dim());
    return ok_status();
  }
  Status parse_field(Shape& out) {
    KILN_ASSIGN_OR_RETURN(out, parse_list<DimExpr>([&] { return parse_dim(); }));
    return ok_status();
  }
  template <typename T>
  Status parse_field(std::optional<T>& out) {
    if (is_keyword(tok_, "none")) {
      out.reset();
      advance();
      return ok_status();
    }
    T value{};
    KILN_RETURN_IF_ERROR(parse_field(value));
    out = std::move(value);
    return ok_status();
  }
  Status parse_field(TensorData& out) {
    KILN_ASSIGN_OR_RETURN(pending_data_, parse_data_spec());
    return ok_status();
  }

  // [numbers] | splat(number) | random(seed=N, scale=S) | elided
  Expected<DataSpec> parse_data_spec() {
    DataSpec spec;
    spec.offset = tok_.offset;
    if (at(TokenKind::kLBracket)) {
      spec.kind = DataSpec::Kind::kList;
      KILN_ASSIGN_OR_RETURN(spec.numbers,
                            parse_list<DataNumber>([&] { return parse_data_number(); }));
      return spec;
    }
    if (is_keyword(tok_, "splat")) {
      spec.kind = DataSpec::Kind::kSplat;
      advance();
      KILN_RETURN_IF_ERROR(expect(TokenKind::kLParen, "'('"));
      KILN_ASSIGN_OR_RETURN(DataNumber v, parse_data_number());
      spec.numbers.push_back(v);
      KILN_RETURN_IF_ERROR(expect(TokenKind::kRParen, "')'"));
      return spec;
    }
    if (is_keyword(tok_, "random")) {
      spec.kind = DataSpec::Kind::kRandom;
      advance();
      KILN_RETURN_IF_ERROR(expect(TokenKind::kLParen, "'('"));
      bool has_seed = false, has_scale = false;
      while (true) {
        if (!is_keyword(tok_, "seed") && !is_keyword(tok_, "scale")) {
          return expected("'seed' or 'scale'");
        }
        Token key = tok_;
        bool& seen = key.text == "seed" ? has_seed : has_scale;
        if (seen) return error_at(key.offset, "'", key.text, "' is given twice");
        seen = true;
        advance();
        KILN_RETURN_IF_ERROR(expect(TokenKind::kEqual, "'='"));
        if (key.text == "seed") {
          KILN_ASSIGN_OR_RETURN(int64_t seed, parse_int("an integer seed"));
          spec.seed = static_cast<uint64_t>(seed);
        } else {
          KILN_ASSIGN_OR_RETURN(spec.scale, parse_double("a number"));
        }
        if (accept(TokenKind::kComma)) continue;
        KILN_RETURN_IF_ERROR(expect(TokenKind::kRParen, "',' or ')'"));
        break;
      }
      if (!has_seed) return error_at(spec.offset, "random(...) needs seed=N");
      return spec;
    }
    if (is_keyword(tok_, "elided")) {
      return error_at(tok_.offset,
                      "constant data was elided when this text was printed (elide_constants_over_"
                      "bytes / --elide-constants), so it cannot be parsed back into a graph");
    }
    return expected("constant data: [numbers], splat(X), random(seed=N, scale=S) or elided");
  }

  // '{' [key '=' value (',' key '=' value)*] '}', keys from the struct's KILN_FIELDS.
  template <typename A>
  Status parse_attrs(A& attrs, std::string_view op) {
    KILN_RETURN_IF_ERROR(expect(TokenKind::kLBrace, "'{'"));
    std::vector<std::string_view> seen;
    if (accept(TokenKind::kRBrace)) return ok_status();
    while (true) {
      if (!at(TokenKind::kIdent)) return expected("an attribute name");
      Token key = tok_;
      for (std::string_view s : seen) {
        if (s == key.text) return error_at(key.offset, "attribute '", key.text, "' is given twice");
      }
      seen.push_back(key.text);
      advance();
      KILN_RETURN_IF_ERROR(expect(TokenKind::kEqual, "'='"));
      bool found = false;
      Status status;
      std::string valid;
      attrs.visit([&](std::string_view name, auto& field) {
        valid += str_cat(valid.empty() ? "" : ", ", name);
        if (found || name != key.text) return;
        found = true;
        status = parse_field(field);
      });
      if (!found) {
        if (valid.empty()) return error_at(key.offset, op, " takes no attributes");
        return error_at(key.offset, op, " has no attribute '", key.text, "' (its attributes: ",
                        valid, ")");
      }
      KILN_RETURN_IF_ERROR(status);
      if (accept(TokenKind::kComma)) continue;
      return expect(TokenKind::kRBrace, "',' or '}'");
    }
  }

  // Attributes of `op` from the text (or defaults) with constant data resolved.
  Expected<Attrs> parse_op_attrs(OpKind op, size_t op_offset) {
    Attrs attrs = default_attrs(op);
    pending_data_.reset();
    Status status;
    std::visit(
        [&](auto& a) {
          using A = std::decay_t<decltype(a)>;
          if (at(TokenKind::kLBrace)) status = parse_attrs(a, op_name(op));
          if (!status.ok()) return;
          if constexpr (std::is_same_v<A, ConstantAttrs>) {
            status = resolve_constant_data(a, pending_data_,
                                           [&](size_t offset) { return where(offset); },
                                           op_offset);
          }
        },
        attrs);
    KILN_RETURN_IF_ERROR(status);
    return attrs;
  }

  // ---- graph structure -----------------------------------------------------------------------
  Status parse_graph_body() {
    KILN_RETURN_IF_ERROR(expect_keyword("graph"));
    if (!at(TokenKind::kGlobal)) return expected("a graph name such as @main");
    g_.name = std::string(tok_.text.substr(1));
    advance();
    KILN_RETURN_IF_ERROR(expect(TokenKind::kLBrace, "'{'"));
    while (true) {
      if (is_keyword(tok_, "symbol")) {
        KILN_RETURN_IF_ERROR(parse_symbol());
      } else if (is_keyword(tok_, "input")) {
        KILN_RETURN_IF_ERROR(parse_input());
      } else if (is_keyword(tok_, "return")) {
        KILN_RETURN_IF_ERROR(parse_return());
        break;
      } else if (at(TokenKind::kValue) || at(TokenKind::kIdent)) {
        KILN_RETURN_IF_ERROR(parse_node());
      } else {
        return expected("'symbol', 'input', a node or 'return'");
      }
    }
    KILN_RETURN_IF_ERROR(expect(TokenKind::kRBrace, "'}' after return"));
    if (!at(TokenKind::kEof)) return expected("end of input after the graph");
    return ok_status();
  }

  // symbol NAME in [MIN, MAX] opt OPT
  Status parse_symbol() {
    size_t start = tok_.offset;
    advance();
    if (!at(TokenKind::kIdent)) return expected("a symbol name");
    SymbolInfo info;
    info.name = std::string(tok_.text);
    advance();
    KILN_RETURN_IF_ERROR(expect_keyword("in"));
    KILN_RETURN_IF_ERROR(expect(TokenKind::kLBracket, "'['"));
    KILN_ASSIGN_OR_RETURN(info.min, parse_int("the minimum (an integer)"));
    KILN_RETURN_IF_ERROR(expect(TokenKind::kComma, "','"));
    KILN_ASSIGN_OR_RETURN(info.max, parse_int("the maximum (an integer)"));
    KILN_RETURN_IF_ERROR(expect(TokenKind::kRBracket, "']'"));
    KILN_RETURN_IF_ERROR(expect_keyword("opt"));
    KILN_ASSIGN_OR_RETURN(info.opt, parse_int("the optimisation point (an integer)"));
    return graph_add_symbol(g_, std::move(info)).status().with_context(where(start));
  }

  // input %name : TYPE
  Status parse_input() {
    advance();
    if (!at(TokenKind::kValue)) return expected("a value name such as %x");
    Token name = tok_;
    KILN_RETURN_IF_ERROR(check_new_value(name));
    advance();
    KILN_RETURN_IF_ERROR(expect(TokenKind::kColon, "':'"));
    KILN_ASSIGN_OR_RETURN(TensorType type, parse_type());
    ValueId id = graph_add_input(g_, value_name(name), std::move(type));
    values_[std::string(name.text)] = Definition{id, name.offset};
    return ok_status();
  }

  // return [%v (',' %v)*]
  Status parse_return() {
    advance();
    if (!at(TokenKind::kValue)) return ok_status();
    while (true) {
      KILN_ASSIGN_OR_RETURN(ValueId v, use_value());
      g_.outputs.push_back(v);
      if (!accept(TokenKind::kComma)) return ok_status();
    }
  }

  // [%r (',' %r)* '='] OP ['(' operands ')'] ['{' attrs '}'] [':' types] ['loc' '(' STRING ')']
  Status parse_node() {
    std::vector<Token> results;
    if (at(TokenKind::kValue)) {
      while (true) {
        if (!at(TokenKind::kValue)) return expected("a result name such as %0");
        KILN_RETURN_IF_ERROR(check_new_value(tok_));
        for (const Token& r : results) {
          if (r.text == tok_.text) return error_at(tok_.offset, "result ", tok_.text, " repeated");
        }
        results.push_back(tok_);
        advance();
        if (!accept(TokenKind::kComma)) break;
      }
      KILN_RETURN_IF_ERROR(expect(TokenKind::kEqual, "'=' or ','"));
    }
    if (!at(TokenKind::kIdent)) return expected("an op name");
    Token op_tok = tok_;
    std::optional<OpKind> op = op_from_name(op_tok.text);
    if (!op) return error_at(op_tok.offset, "unknown op '", op_tok.text, "'");
    const OpInfo& info = op_info(*op);
    advance();

    std::vector<ValueId> operands;  // "op" and "op()" both have no operands
    if (accept(TokenKind::kLParen) && !accept(TokenKind::kRParen)) {
      while (true) {
        if (is_keyword(tok_, "_")) {
          if (static_cast<int>(operands.size()) < info.min_inputs || info.max_inputs < 0) {
            return error_at(tok_.offset, info.name, ": operand ", operands.size(),
                            " is required and cannot be absent ('_')");
          }
          operands.push_back(kNoValue);
          advance();
        } else {
          KILN_ASSIGN_OR_RETURN(ValueId v, use_value());
          operands.push_back(v);
        }
        if (accept(TokenKind::kComma)) continue;
        KILN_RETURN_IF_ERROR(expect(TokenKind::kRParen, "',' or ')'"));
        break;
      }
    }
    int count = static_cast<int>(operands.size());
    if (count < info.min_inputs || (info.max_inputs >= 0 && count > info.max_inputs)) {
      std::string range = info.max_inputs < 0 ? str_cat("at least ", info.min_inputs)
                          : info.min_inputs == info.max_inputs
                              ? str_cat(info.min_inputs)
                              : str_cat(info.min_inputs, " to ", info.max_inputs);
      return error_at(op_tok.offset, info.name, " takes ", range, " operands, got ", count);
    }

    KILN_ASSIGN_OR_RETURN(Attrs attrs, parse_op_attrs(*op, op_tok.offset));

    std::vector<std::pair<TensorType, size_t>> written;
    if (accept(TokenKind::kColon)) {
      while (true) {
        size_t offset = tok_.offset;
        KILN_ASSIGN_OR_RETURN(TensorType t, parse_type());
        written.emplace_back(std::move(t), offset);
        if (!accept(TokenKind::kComma)) break;
      }
    }
    std::string loc;
    if (is_keyword(tok_, "loc")) {
      advance();
      KILN_RETURN_IF_ERROR(expect(TokenKind::kLParen, "'('"));
      if (!at(TokenKind::kString)) return expected("a quoted location string");
      std::string error;
      if (!text::decode_string(tok_.text, &loc, &error)) return error_at(tok_.offset, error);
      advance();
      KILN_RETURN_IF_ERROR(expect(TokenKind::kRParen, "')'"));
    }

    Expected<std::vector<ValueId>> outs =
        graph_add_node(g_, *op, std::move(operands), std::move(attrs), std::move(loc));
    if (!outs.ok()) return outs.status().with_context(where(op_tok.offset));
    if (outs->size() != results.size()) {
      return error_at(op_tok.offset, info.name, " has ", outs->size(), " result(s), but ",
                      results.size(), " name(s) are written before '='");
    }
    if (!written.empty() && written.size() != outs->size()) {
      return error_at(written.front().second, info.name, " has ", outs->size(),
                      " result(s), but ", written.size(), " type(s) are written");
    }
    for (size_t i = 0; i < written.size(); ++i) {
      const TensorType& inferred = g_.type((*outs)[i]);
      if (!(written[i].first == inferred)) {
        return error_at(written[i].second, "type mismatch for ", results[i].text, " (result ", i,
                        " of ", info.name, "): written ", g_.type_text(written[i].first),
                        ", inferred ", g_.type_text(inferred));
      }
    }
    for (size_t i = 0; i < results.size(); ++i) {
      ValueId id = (*outs)[i];
      g_.values[static_cast<size_t>(id)].name = value_name(results[i]);
      values_[std::string(results[i].text)] = Definition{id, results[i].offset};
    }
    return ok_status();
  }

  // ---- values --------------------------------------------------------------------------------
  // The Value::name of a %token: its identifier, or "" for a number.
  static std::string value_name(const Token& t) {
    std::string_view body = t.text.substr(1);
    if (!body.empty() && body[0] >= '0' && body[0] <= '9') return "";
    return std::string(body);
  }
  Status check_new_value(const Token& t) const {
    auto it = values_.find(std::string(t.text));
    if (it == values_.end()) return ok_status();
    return error_at(t.offset, "redefinition of ", t.text, " (first defined at ",
                    lexer_.line_of(it->second.offset), ":", lexer_.column_of(it->second.offset),
                    ")");
  }
  Expected<ValueId> use_value() {
    if (!at(TokenKind::kValue)) return expected("a value such as %x");
    auto it = values_.find(std::string(tok_.text));
    if (it == values_.end()) return error_at(tok_.offset, "use of undefined value ", tok_.text);
    advance();
    return it->second.id;
  }

  std::string_view filename_;
  text::Lexer lexer_;
  Token tok_;
  Graph g_;
  std::unordered_map<std::string, Definition> values_;
  std::optional<DataSpec> pending_data_;
  int dim_depth_ = 0;
};

}  // namespace

Expected<Graph> parse_graph(std::string_view text, std::string_view filename) {
  Parser parser(text, filename);
  return parser.parse();
}

}  // namespace kiln
