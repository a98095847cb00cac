#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

#include "llm_router/analyzer/detectors.hpp"
#include "text_util.hpp"
#include "word_table.hpp"

namespace llm_router::analyzer {
namespace {

// ---- code -------------------------------------------------------------------------------

struct LanguageCue {
  std::string_view language;
  std::string_view cue;
};

// Substrings that are rare in prose; each hit names a language.
constexpr LanguageCue kCodeCues[] = {
    {"python", "def "},
    {"python", "import numpy"},
    {"python", "self."},
    {"python", "elif "},
    {"python", "print("},
    {"cpp", "#include"},
    {"cpp", "std::"},
    {"cpp", "template<"},
    {"javascript", "function("},
    {"javascript", "=> {"},
    {"javascript", "console.log"},
    {"javascript", "const "},
    {"typescript", "interface "},
    {"java", "public static void"},
    {"java", "System.out"},
    {"rust", "fn "},
    {"rust", "let mut "},
    {"rust", "impl "},
    {"go", "func "},
    {"go", "package main"},
    {"go", ":= "},
    {"sql", "SELECT "},
    {"sql", "INSERT INTO"},
    {"sql", "CREATE TABLE"},
    {"shell", "#!/bin/"},
    {"shell", "sudo "},
    {"html", "<div"},
    {"html", "</"},
};

std::string normalize_fence_language(std::string_view tag) {
  std::string lower;
  for (char c : tag) {
    if (!is_ascii_alnum(c) && c != '+' && c != '#') break;
    lower += ascii_lower(c);
  }
  if (lower == "py" || lower == "python3") return "python";
  if (lower == "js" || lower == "jsx" || lower == "node") return "javascript";
  if (lower == "ts" || lower == "tsx") return "typescript";
  if (lower == "c++" || lower == "cc" || lower == "cxx" || lower == "hpp") return "cpp";
  if (lower == "sh" || lower == "bash" || lower == "zsh" || lower == "console") return "shell";
  if (lower == "rs") return "rust";
  if (lower == "golang") return "go";
  if (lower == "yml") return "yaml";
  return lower;
}

// Bit k set: kCodeCues[k] occurs in text. One pass trying at each byte only the cues that
// start with it (a find() per cue cost a memchr and memcmp calls per candidate).
std::uint64_t code_cues_in(std::string_view text) {
  static_assert(std::size(kCodeCues) <= 64);
  static constexpr auto kStartingWith = [] {
    std::array<std::uint64_t, 256> table{};
    for (std::size_t k = 0; k < std::size(kCodeCues); ++k) {
      table[static_cast<unsigned char>(kCodeCues[k].cue[0])] |= std::uint64_t{1} << k;
    }
    return table;
  }();
  std::uint64_t found = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::uint64_t candidates = kStartingWith[static_cast<unsigned char>(text[i])] & ~found;
    while (candidates != 0) {
      const int k = std::countr_zero(candidates);
      candidates &= candidates - 1;
      const std::string_view cue = kCodeCues[k].cue;
      // Every cue has 2+ bytes: test the second inline before comparing the rest.
      if (i + cue.size() <= text.size() && text[i + 1] == cue[1] &&
          std::memcmp(text.data() + i + 2, cue.data() + 2, cue.size() - 2) == 0) {
        found |= std::uint64_t{1} << k;
      }
    }
  }
  return found;
}

// A statement's semicolon: "x = 1;", "i++;", "exit;", "int count;", "LIMIT 10;" but not
// "Roses are red;" (prose and verse end clauses with one too).
bool ends_a_statement(std::string_view line) {
  if (line.find_first_of("()=[]{}\"'$<>+*/_.:") != std::string_view::npos) return true;
  const std::size_t space = line.find(' ');
  if (space == std::string_view::npos) return true;
  static constexpr std::string_view kStatementWords[] = {
      "int",    "unsigned", "using",  "char",   "void",  "auto",     "double", "float",
      "bool",   "long",     "short",  "return", "break", "continue", "import", "package",
      "let",    "var",      "const",  "delete", "throw", "static",   "struct", "typedef",
      "echo",   "export",   "SELECT", "FROM",   "WHERE", "LIMIT",    "DELETE", "UPDATE",
      "INSERT", "DROP",     "ALTER",  "CREATE", "GRANT", "ORDER",    "GROUP",  "JOIN"};
  const std::string_view first = line.substr(0, space);
  return std::find(std::begin(kStatementWords), std::end(kStatementWords), first) !=
         std::end(kStatementWords);
}

bool is_code_line(std::string_view line) {
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
  if (line.empty()) return false;
  const char last = line.back();
  if (last == ';' && ends_a_statement(line)) return true;
  if (last == '{' || last == '}' || last == ')') return true;
  // Only lines starting with one of these letters can open with a code keyword.
  switch (line.front()) {
    case 'd':
    case 'c':
    case 'C':
    case 'i':
    case '#':
    case 'r':
    case 'f':
    case 'w':
    case '}':
    case '/':
    case 'v':
    case 'l':
    case 'p':
    case 'e':
    case 'S':
    case 'F':
    case 'W':
    case 'J':
    case 'L':
    case 'I':
    case 'G':
    case 'O':
    case 'U':
    case 'D':
    case 'V':
    case 'H':
      break;
    default:
      return false;
  }
  // SQL clauses are matched in capitals only: "From the start, ..." is prose. (A static array:
  // a braced list of literals measured each one with strlen() on every line.)
  static constexpr std::string_view kLineStarts[] = {
      "def ",     "class ",       "import ",     "#include",     "#!/",       "return ",
      "for (",    "if (",         "while (",     "} ",           "//",        "from ",
      "fn ",      "func ",        "var ",        "let ",         "const ",    "public ",
      "private ", "echo ",        "export ",     "SELECT ",      "FROM ",     "WHERE ",
      "JOIN ",    "LEFT JOIN ",   "INNER JOIN ", "GROUP BY ",    "ORDER BY ", "HAVING ",
      "LIMIT ",   "INSERT INTO ", "UPDATE ",     "DELETE FROM ", "VALUES ",   "CREATE TABLE "};
  for (const std::string_view start : kLineStarts) {
    // The first byte inline: most lines fail it, and starts_with() calls memcmp.
    if (line.front() == start.front() && line.starts_with(start)) return true;
  }
  return last == ':' && line.starts_with("def ");
}

}  // namespace

CodeSignals detect_code(std::string_view text) {
  CodeSignals out;
  std::vector<std::string> languages;
  // Fenced blocks: ```lang ... ```
  std::size_t from = 0;
  int fences = 0;
  while ((from = text.find("```", from)) != std::string_view::npos) {
    ++fences;
    if (fences % 2 == 1) {
      std::string tag = normalize_fence_language(text.substr(from + 3, 24));
      if (!tag.empty()) languages.push_back(std::move(tag));
    }
    from += 3;
  }
  out.has_code = fences >= 2;
  // Where language cues are looked for: the first fenced block, or the code-like lines.
  std::string cue_text;
  if (out.has_code) {
    const std::size_t open = text.find("```");
    const std::size_t body = text.find('\n', open);
    const std::size_t close = body == std::string_view::npos ? body : text.find("```", body);
    if (close != std::string_view::npos) cue_text = text.substr(body, close - body);
  } else {
    int lines = 0;
    int code_lines = 0;
    bool script = false;
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      const std::string_view line = text.substr(start, end - start);
      if (line.find_first_not_of(" \t\r") != std::string_view::npos) {
        ++lines;
        // A script ("#!/bin/bash") is code however short.
        script = script || line.starts_with("#!/");
        if (is_code_line(line)) {
          ++code_lines;
          if (cue_text.size() < 1024) cue_text.append(line).push_back('\n');
        }
      }
      start = end + 1;
    }
    out.has_code = (code_lines >= 3 && code_lines * 10 >= lines * 3) || script;
  }
  if (out.has_code && languages.empty()) {
    const std::uint64_t found = code_cues_in(std::string_view(cue_text).substr(0, 1024));
    for (std::size_t k = 0; k < std::size(kCodeCues); ++k) {
      if ((found >> k & 1U) != 0) languages.emplace_back(kCodeCues[k].language);
    }
  }
  std::sort(languages.begin(), languages.end());
  languages.erase(std::unique(languages.begin(), languages.end()), languages.end());
  out.languages = std::move(languages);
  return out;
}

namespace {

// ---- programming requests ----------------------------------------------------------------

// Substrings that are rare in prose and common in code of many languages (case-sensitive);
// the last ones are regular expressions' (not "\\d" alone: LaTeX's \\delta, \\dots).
// At most 64: syntax_cues keeps a bit per cue.
constexpr std::string_view kSyntaxCues[] = {
    "();",      "){",          ") {",          "{}",
    "};",       "::",          "=>",           "!=",
    "==",       "&&",          "||",           "+=",
    "++",       "->",          "#include",     "console.",
    "System.",  "println",     "printf",       "$(",
    "| grep",   "SELECT ",     "FROM ",        "WHERE ",
    "GROUP BY", "INSERT INTO", "CREATE TABLE", "def ",
    "fn ",      "func ",       "let mut ",     "const ",
    "var ",     "</",          "/>",           "-exec",
    "\\;",      "npm ",        "pip ",         "git ",
    "sudo ",    "std::",       "JSON.parse",   "JSON.stringify",
    "(?:",      "(?=",         "(?!",          "(?<",
    "\\d+",     "\\d{",        "\\w+",         "\\s+",
    "\\s*",     "\\.",         "[a-z",         "[A-Z",
    "[0-9",     "]{",          "]+",
};
static_assert(std::size(kSyntaxCues) <= 64);

// kTermWord: a word only programmers use ("mutex", "kubectl"), enough alone; kPhraseEnd: the
// last word of a two-word term ("linked list"), looked up with the word before it.
enum CodeWord : std::uint8_t {
  kLanguageWord = 1,
  kVocabularyWord = 2,
  kTermWord = 4,
  kPhraseEnd = 8
};

// Whole words, lowercased. Names that are also everyday words (java, rust, swift, ruby, react)
// are safe here because a language name alone is never enough: confident() wants a second
// kind of evidence. "go" and "c" are too common to list. Tools, protocols and platforms
// programmers ask about in prose count too ("difference between http and https", "my nginx keeps
// returning 502").
constexpr std::string_view kLanguageWords[] = {
    "java",       "rust",       "ruby",    "swift",     "react",       "reactjs",    "vuejs",
    "angular",    "nextjs",     "rails",   "laravel",   "dotnet",      "csharp",     "cpp",
    "javascript", "typescript", "python",  "golang",    "sql",         "mysql",      "postgres",
    "postgresql", "sqlite",     "bash",    "zsh",       "powershell",  "html",       "css",
    "php",        "kotlin",     "haskell", "perl",      "dockerfile",  "kubernetes", "nodejs",
    "numpy",      "pandas",     "django",  "flask",     "jquery",      "matlab",     "fortran",
    "cobol",      "scala",      "clojure", "elixir",    "erlang",      "lua",        "julia",
    "vba",        "json",       "yaml",    "xml",       "cmake",       "webpack",    "tensorflow",
    "pytorch",    "linux",      "unix",    "git",       "npm",         "nginx",      "tcp",
    "udp",        "http",       "https",   "dns",       "ssh",         "tls",        "ssl",
    "redis",      "mongodb",    "kafka",   "terraform", "ansible",     "jenkins",    "github",
    "gitlab",     "bitbucket",  "vscode",  "vim",       "emacs",       "nosql",      "grpc",
    "websocket",  "websockets", "ubuntu",  "aws",       "gcp",         "heroku",     "cuda",
    "opengl",     "llvm",       "gcc",     "clang",     "gradle",      "maven",      "conda",
    "jupyter",    "oauth",      "jwt",     "cors",      "ajax",        "sass",       "svelte",
    "vue",        "fastapi",    "deno",    "wasm",      "webassembly", "solidity",   "verilog",
    "vhdl",       "js",
};
// Alone enough: nobody outside programming writes these ("regex" too: a pattern's symbols read
// as notation to the math evidence, and the word says what they are).
constexpr std::string_view kTermWords[] = {
    "mutex",      "mutexes",        "deadlock",      "deadlocks",      "segfault",   "kubectl",
    "stacktrace", "traceback",      "localhost",     "codebase",       "makefile",   "gitignore",
    "monorepo",   "microservice",   "microservices", "middleware",     "debugger",   "linter",
    "transpiler", "multithreading", "multithreaded", "refactoring",    "nullptr",    "stdout",
    "stderr",     "graphql",        "dockerfile",    "quicksort",      "mergesort",  "hashmap",
    "hashtable",  "bytecode",       "serializer",    "deserialize",    "webhook",    "webhooks",
    "memoize",    "memoization",    "typeerror",     "flexbox",        "valueerror", "keyerror",
    "indexerror", "attributeerror", "syntaxerror",   "referenceerror", "sharding",   "serverless",
    "regex",      "regexp",         "regexes",
};
// Two-word terms, "first second", each alone an everyday word ("linked", "list").
constexpr std::string_view kTermPhrases[] = {
    "regular expression",
    "regular expressions",
    "linked list",
    "linked lists",
    "inner join",
    "left join",
    "right join",
    "outer join",
    "cross join",
    "foreign key",
    "hash map",
    "hash maps",
    "hash table",
    "hash tables",
    "binary tree",
    "binary trees",
    "search tree",
    "binary search",
    "garbage collector",
    "dependency injection",
    "abstract class",
    "abstract classes",
    "race condition",
    "race conditions",
    "memory leak",
    "memory leaks",
    "stack overflow",
    "design pattern",
    "design patterns",
    "data structure",
    "data structures",
    "unit test",
    "unit tests",
    "unit testing",
    "integration tests",
    "pull request",
    "pull requests",
    "merge conflict",
    "merge conflicts",
    "version control",
    "o notation",
    "time complexity",
    "docker container",
    "event loop",
    "null pointer",
    "load balancer",
    "load balancing",
    "sql injection",
    "source code",
    "command line",
    "object oriented",
    "global variable",
    "global variables",
    "stack trace",
    "exit code",
    "bubble sort",
    "merge sort",
    "regular expression",
    "regular expressions",
    "virtual environment",
    "package manager",
    "environment variable",
    "environment variables",
    "long polling",
    "rest api",
    "web server",
    "type checking",
    "unhandled exception",
    "infinite loop",
    "type error",
    "syntax error",
    "docker compose",
    "docker image",
    "docker containers",
    "last commit",
    "value store",
    "leader election",
    "consistent hashing",
    "distributed system",
    "distributed systems",
    "message queue",
    "message queues",
    "rate limiter",
    "url shortener",
    "database schema",
    "system design",
    "cache invalidation",
};
// Language names that are everyday words too ("rust and ruby" are colours, "Java and Swift"
// an island and a singer): they count as a language beside other evidence, never as the
// second of two languages.
constexpr std::string_view kEverydayLanguageNames[] = {
    "java",
    "rust",
    "ruby",
    "swift",
    "react",
    "angular",
    "rails",
    "flask",
    "julia",
    "go",
    "vue",
    "lua",
    "jenkins",
    "maven",
    "scala",
    "elixir",
    // Formats an answer is asked in ("as JSON") and platforms anyone names ("my AWS bill",
    // "install Ubuntu"): a programmer's question needs more than one of them.
    "json",
    "yaml",
    "xml",
    "aws",
    "gcp",
    "heroku",
    "github",
    "gitlab",
    "bitbucket",
    "ubuntu",
    "linux",
    "unix",
    // Names that are also a writer, an animal, a party, a film, a club, a quality or an editor
    // ("Kafka's The Trial", "giant pandas", "a birthday bash", "Django Unchained").
    "kafka",
    "pandas",
    "bash",
    "django",
    "ajax",
    "svelte",
    "solidity",
    "vim",
    "haskell",
    "kotlin",
};
constexpr std::string_view kVocabularyWords[] = {
    "function",    "functions",   "method",      "methods",      "class",      "constructor",
    "compile",     "compiler",    "compiles",    "compiling",    "segfault",   "query",
    "queries",     "script",      "scripts",     "array",        "arrays",     "variable",
    "variables",   "pointer",     "pointers",    "goroutine",    "goroutines", "borrow",
    "debug",       "debugging",   "bug",         "exception",    "runtime",    "syntax",
    "api",         "endpoint",    "recursion",   "recursive",    "algorithm",  "struct",
    "schema",      "database",    "loop",        "boolean",      "implement",  "refactor",
    "throws",      "null",        "undefined",   "flexbox",      "div",        "code",
    "program",     "programming", "command",     "terminal",     "library",    "framework",
    "interface",   "repository",  "stdout",      "stderr",       "argv",       "lambda",
    "closure",     "async",       "await",       "thread",       "threads",    "mutex",
    "hashmap",     "dictionary",  "iterator",    "enum",         "typedef",    "template",
    "generic",     "generics",    "inheritance", "polymorphism", "unittest",   "tests",
    "deploy",      "docker",      "container",   "cli",          "shell",      "directory",
    "files",       "filename",    "component",   "components",   "props",      "render",
    "rendering",   "module",      "modules",     "bytecode",     "jvm",        "borrowed",
    "compilation", "string",      "strings",     "file",         "commit",     "commits",
    "repo",        "cache",       "server",      "servers",      "gateway",    "cluster",
    "pod",         "pods",        "containers",  "endpoints",    "crash",      "crashes",
    "install",     "deployed",    "deploying",   "deployment",
};

// Listed words, each with a set of kind bits.
class WordKinds {
 public:
  void add(std::string_view word, std::uint8_t kind) {
    kinds_[word] |= kind;
    first_last_[slot(word.front())] |= 1U << slot(word.back());
  }
  // The kinds of a lowercase word, or null when it is not listed.
  const std::uint8_t* find(std::string_view word) const {
    const bool may_be_listed = (first_last_[slot(word.front())] >> slot(word.back()) & 1U) != 0;
    return may_be_listed ? kinds_.find(word) : nullptr;
  }

 private:
  static std::size_t slot(char c) { return static_cast<unsigned char>(c) & 31U; }
  WordTable<std::uint8_t> kinds_;
  // Bit (last letter) of row (first letter): a listed word starts and ends so. Most prose
  // words fail this test, which is cheaper than hashing them.
  std::array<std::uint32_t, 32> first_last_{};
};

const WordKinds& code_words() {
  static const WordKinds words = [] {
    WordKinds out;
    for (auto word : kLanguageWords) out.add(word, kLanguageWord);
    for (auto word : kVocabularyWords) out.add(word, kVocabularyWord);
    for (auto word : kTermWords) out.add(word, kTermWord);
    for (auto phrase : kTermPhrases) out.add(phrase.substr(phrase.find(' ') + 1), kPhraseEnd);
    return out;
  }();
  return words;
}

const WordTable<bool>& term_phrases() {
  static const WordTable<bool> phrases = [] {
    WordTable<bool> out;
    for (auto phrase : kTermPhrases) out[phrase] = true;
    return out;
  }();
  return phrases;
}

// The language names seen, to count distinct ones: "Java coffee from the island of Java" names
// one language twice, "Python or JavaScript" two.
class DistinctWords {
 public:
  // Whether word is new (then remembered, up to four).
  bool insert(std::string_view word) {
    for (std::size_t k = 0; k < count_; ++k) {
      if (std::string_view(seen_[k].data(), sizes_[k]) == word) return false;
    }
    if (count_ < seen_.size() && word.size() <= seen_[0].size()) {
      std::copy(word.begin(), word.end(), seen_[count_].begin());
      sizes_[count_++] = word.size();
    }
    return true;
  }

 private:
  std::array<std::array<char, 16>, 4> seen_{};
  std::array<std::size_t, 4> sizes_{};
  std::size_t count_ = 0;
};

// A call: an identifier of 2+ characters directly followed by "(" and, later on the line, ")".
bool has_call(std::string_view text) {
  std::size_t from = 0;
  while ((from = text.find('(', from)) != std::string_view::npos) {
    std::size_t begin = from;
    while (begin > 0 && (is_ascii_alnum(text[begin - 1]) || text[begin - 1] == '_')) --begin;
    // "friend(s)" is prose.
    const bool plural = text.substr(from, 3) == "(s)" || text.substr(from, 4) == "(es)";
    const bool identifier = from - begin >= 2 && !is_ascii_digit(text[begin]) && !plural;
    const std::size_t close = text.find_first_of(")\n", from);
    if (identifier && close != std::string_view::npos && text[close] == ')') return true;
    ++from;
  }
  return false;
}

// A programmer's name for something, in prose: camelCase ("setState", "useEffect": two or more
// lowercase letters, then an uppercase letter followed by a lowercase one; not "iPhone" or
// "macOS") or snake_case ("max_value": two or more letters on each side of the '_'; not the
// "a_n" of LaTeX, nor a LaTeX command such as "\varPhi"). The word is
// text[begin, end).
bool is_identifier(std::string_view text, std::size_t begin, std::size_t end) {
  if (end - begin < 2 || !is_ascii_lower(text[begin]) || !is_ascii_lower(text[begin + 1]) ||
      (begin > 0 && text[begin - 1] == '\\')) {
    return false;
  }
  for (std::size_t k = begin + 2; k + 1 < end; ++k) {
    if (is_ascii_upper(text[k])) return is_ascii_lower(text[k + 1]);
  }
  return end + 2 < text.size() && text[end] == '_' && is_ascii_alpha(text[end + 1]) &&
         is_ascii_alpha(text[end + 2]);
}

// Cues by their first byte, so one pass over the text tries only the cues that can start at
// each byte (a find() per cue cost ~15 us on 2,000 bytes).
struct SyntaxCueIndex {
  static_assert(std::size(kSyntaxCues) <= 64);
  std::array<std::uint64_t, 256> starting_with{};  // bit c: kSyntaxCues[c] starts with the byte
  // Bytes that start a cue or LaTeX ('$', '\\', '['); syntax_cues does nothing at the others
  // (most bytes), so one lookup lets it move on.
  std::array<bool, 256> matters{};
  SyntaxCueIndex() {
    for (std::size_t c = 0; c < std::size(kSyntaxCues); ++c) {
      starting_with[static_cast<unsigned char>(kSyntaxCues[c][0])] |= std::uint64_t{1} << c;
    }
    for (std::size_t b = 0; b < 256; ++b) matters[b] = starting_with[b] != 0;
    for (char c : {'$', '\\', '['}) matters[static_cast<unsigned char>(c)] = true;
  }
};

// Distinct syntax cues in text plus one for a call, or -1 for LaTeX ("$x$", "\\frac{}{}",
// "\\pmod", Asymptote figures), which is full of braces, bars and calls: in math problems
// syntax cues say nothing.
int syntax_cues(std::string_view text) {
  static const SyntaxCueIndex index;
  std::uint64_t seen = 0;
  int dollars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!index.matters[static_cast<unsigned char>(c)]) continue;
    if (c == '$') {
      if (++dollars >= 2) return -1;
    } else if (c == '\\') {
      const std::string_view rest = text.substr(i + 1);
      if (rest.starts_with("frac") || rest.starts_with("begin") || rest.starts_with('[')) return -1;
    } else if (c == '[' && text.substr(i).starts_with("[asy]")) {
      return -1;
    }
    // Cues that start with a letter ("def ", "console.") start a word.
    if (c >= 'a' && c <= 'z' && i > 0 && is_ascii_alnum(text[i - 1])) continue;
    std::uint64_t candidates = index.starting_with[static_cast<unsigned char>(c)] & ~seen;
    while (candidates != 0) {
      const int k = std::countr_zero(candidates);
      candidates &= candidates - 1;
      const std::string_view cue = kSyntaxCues[k];
      // Every cue has 2+ bytes: test the second inline before comparing the rest.
      if (i + cue.size() <= text.size() && text[i + 1] == cue[1] &&
          std::memcmp(text.data() + i + 2, cue.data() + 2, cue.size() - 2) == 0) {
        seen |= std::uint64_t{1} << k;
      }
    }
  }
  int count = 0;
  for (; seen != 0; seen &= seen - 1) ++count;
  return count + (has_call(text) ? 1 : 0);
}

// "Go" written as the language's name: capitalised ("Go", not "go" or "GO") and not the first
// word of a sentence ("Go to settings").
bool names_go(std::string_view text, std::size_t at) {
  if (text.substr(at, 2) != "Go") return false;
  std::size_t before = at;
  while (before > 0 && (text[before - 1] == ' ' || text[before - 1] == '\t')) --before;
  return before > 0 &&
         std::string_view(".!?\n\"'(").find(text[before - 1]) == std::string_view::npos;
}

}  // namespace

CodeEvidence code_evidence(std::string_view full_text) {
  const std::string_view text = utf8_prefix(full_text, 1000);
  CodeEvidence out;
  const int cues = syntax_cues(text);
  const bool latex = cues < 0;
  out.syntax = std::max(cues, 0);
  // The word counts only matter until the evidence is strong (two syntax cues are).
  if (out.strong()) return out;
  // The word and the one before it, lowercased ("linked list" is looked up at "list").
  std::array<char, 34> pair{};
  constexpr std::size_t kWordBytes = 16;
  std::size_t previous_length = 0;
  int identifiers = 0;
  DistinctWords languages_seen;
  const auto add_language = [&](std::string_view name) {
    ++out.languages;
    const bool everyday =
        std::find(std::begin(kEverydayLanguageNames), std::end(kEverydayLanguageNames), name) !=
        std::end(kEverydayLanguageNames);
    if (!everyday && languages_seen.insert(name)) ++out.distinct_languages;
  };
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !has_class(text[i], kAlphaChar)) ++i;
    char* buffer = pair.data() + previous_length + (previous_length > 0 ? 1 : 0);
    std::size_t length = 0;
    bool upper = false;
    while (i < text.size() && has_class(text[i], kCodeWordChar)) {
      upper = upper || is_ascii_upper(text[i]);
      if (length < kWordBytes) buffer[length] = ascii_lower(text[i]);
      ++length;
      ++i;
    }
    // Most words are lowercase prose: only a capital or a '_' after it can make an identifier.
    // The first is a syntax cue; a second ("useEffect and useLayoutEffect") weak evidence, as a
    // term; in LaTeX (Asymptote's names), only the first counts.
    if (identifiers < (latex ? 1 : 2) && (upper || (i < text.size() && text[i] == '_')) &&
        is_identifier(text, i - length, i)) {
      ++(identifiers++ == 0 ? out.syntax : out.terms);
      if (out.strong()) break;
    }
    const std::size_t pair_length = previous_length + (previous_length > 0 ? 1 : 0) + length;
    const std::size_t word_start = pair_length - length;
    const bool kept = length > 0 && length <= kWordBytes;
    // The word moves to the front of the pair buffer to be the next one's previous word.
    const auto shift = [&] {
      if (kept) std::memmove(pair.data(), pair.data() + word_start, length);
      previous_length = kept ? length : 0;
      if (kept) pair[length] = ' ';
    };
    if (length < 2 || length > kWordBytes) {
      shift();
      continue;
    }
    std::string_view word(buffer, length);
    if (i > length && text[i - length - 1] == '\\') {  // a LaTeX command ("\\div")
      shift();
      continue;
    }
    if (word == "go" && names_go(text, i - length)) {
      add_language(word);
      shift();
      if (out.strong()) break;
      continue;
    }
    if (word.back() == '+' || word.back() == '#') {
      if (word == "c++" || word == "c#" || word == "f#") {
        add_language(word);
        shift();
        if (out.strong()) break;
        continue;
      }
      while (!word.empty() && (word.back() == '+' || word.back() == '#')) word.remove_suffix(1);
    }
    const std::uint8_t* kinds = code_words().find(word);
    if (kinds != nullptr) {
      // "https://..." is a link, not a question about the protocol.
      const bool scheme = (word == "http" || word == "https") && i < text.size() && text[i] == ':';
      if ((*kinds & kLanguageWord) && !scheme) add_language(word);
      out.vocabulary += (*kinds & kVocabularyWord) ? 1 : 0;
      out.terms += (*kinds & kTermWord) ? 1 : 0;
      if ((*kinds & kPhraseEnd) && previous_length > 0 &&
          term_phrases().find(std::string_view(pair.data(), word_start + word.size()))) {
        ++out.terms;
      }
    }
    shift();
    if (out.strong()) break;  // the counts only matter up to here
  }
  return out;
}

namespace {

// ---- math -------------------------------------------------------------------------------

// Whole words, lowercased, that name math and little else ("prime", "solve", "area", "mean"
// and "percent" are everyday words too, so they are not here; phrases below take some).
constexpr std::string_view kMathWords[] = {
    "derivative",    "derivatives",    "differentiate", "integral",   "integrals",
    "integrate",     "antiderivative", "equation",      "equations",  "inequality",
    "polynomial",    "polynomials",    "quadratic",     "factorial",  "permutations",
    "combinatorics", "probability",    "probabilities", "fraction",   "fractions",
    "logarithm",     "logarithms",     "exponent",      "exponents",  "eigenvalue",
    "eigenvalues",   "eigenvector",    "eigenvectors",  "matrices",   "determinant",
    "theorem",       "lemma",          "calculus",      "algebra",    "trigonometry",
    "hypotenuse",    "perimeter",      "circumference", "divisible",  "divisor",
    "divisors",      "modulo",         "gcd",           "lcm",        "variance",
    "factorize",     "asymptote",      "asymptotes",    "convergent", "squared",
    "cubed",         "numerator",      "denominator",   "sine",       "cosine",
    "decimal",       "decimals",       "primes",        "parabola",   "isosceles",
    "congruent",     "integers",
};

// Functions written before their argument: sin(x), log 2, sqrt(2).
constexpr std::string_view kMathFunctions[] = {"sin", "cos",    "tan",    "cot",    "sec",
                                               "csc", "log",    "ln",     "exp",    "sqrt",
                                               "lim", "arcsin", "arccos", "arctan", "det"};

// Phrases of everyday words that together are math: the first word, then the rest.
struct MathPhrase {
  std::string_view first;
  std::string_view rest;  // lowercase, from the space after the first word
};
constexpr MathPhrase kMathPhrases[] = {
    {"how", " many ways"},      {"solve", " for"},
    {"square", " root"},        {"cube", " root"},
    {"expected", " value"},     {"standard", " deviation"},
    {"prime", " number"},       {"prime", " factor"},
    {"greatest", " common"},    {"least", " common"},
    {"common", " denominator"}, {"system", " of equations"},
    {"word", " problem"},       {"simplify", " the expression"},
    {"percent", " of"},
};

// UTF-8 symbols prose does not use: √ ∫ ∑ ≤ ≥ ≠ ∞ ∂ ÷ ∈ (not π or θ: letters of Greek text).
constexpr std::string_view kMathSymbols[] = {
    "\xe2\x88\x9a", "\xe2\x88\xab", "\xe2\x88\x91", "\xe2\x89\xa4", "\xe2\x89\xa5",
    "\xe2\x89\xa0", "\xe2\x88\x9e", "\xe2\x88\x82", "\xc3\xb7",     "\xe2\x88\x88"};

constexpr std::string_view kLatexCommands[] = {"frac", "int",   "sum", "sqrt", "cdot",  "lim",
                                               "pi",   "infty", "leq", "geq",  "times", "binom"};

enum MathWordKind : std::uint8_t { kMathWord = 1, kMathFunction = 2, kMathPhraseStart = 4 };

const WordKinds& math_words() {
  static const WordKinds words = [] {
    WordKinds out;
    for (auto word : kMathWords) out.add(word, kMathWord);
    for (auto word : kMathFunctions) out.add(word, kMathFunction);
    for (const auto& phrase : kMathPhrases) out.add(phrase.first, kMathPhraseStart);
    return out;
  }();
  return words;
}

bool is_variable_letter(char c) {
  return c == 'x' || c == 'y' || c == 'z' || c == 'n' || c == 'a' || c == 'b' || c == 'k' ||
         c == 't';
}

// A single letter standing alone (not part of a word) at i.
bool lone_letter(std::string_view text, std::size_t i) {
  return is_ascii_alpha(text[i]) && (i == 0 || !is_ascii_alnum(text[i - 1])) &&
         (i + 1 == text.size() || !is_ascii_alnum(text[i + 1]));
}

std::size_t skip_spaces(std::string_view text, std::size_t i) {
  while (i < text.size() && text[i] == ' ') ++i;
  return i;
}

// Whether text, lowercased from `at`, starts with `lower`.
bool continues_with(std::string_view text, std::size_t at, std::string_view lower) {
  if (text.size() - at < lower.size()) return false;
  for (std::size_t k = 0; k < lower.size(); ++k) {
    if (ascii_lower(text[at + k]) != lower[k]) return false;
  }
  return true;
}

// One pass over the text: each kind of notation counts once, math words and phrases each time.
class MathScan {
 public:
  explicit MathScan(std::string_view text) : text_(text) {}

  MathEvidence run() {
    MathEvidence out;
    std::size_t i = 0;
    while (i < text_.size()) {
      const char c = text_[i];
      if (is_ascii_alpha(c)) {
        i = word(i, out);
      } else if (is_ascii_digit(c)) {
        i = number(i, out);
      } else {
        symbol(i);
        ++i;
      }
    }
    out.notation = std::popcount(notation_);
    out.vocabulary += percent_of_;
    return out;
  }

 private:
  enum Notation : unsigned {
    kPower = 1,
    kFunction = 2,
    kFunctionOf = 4,
    kTerm = 8,
    kEquation = 16,
    kLatex = 32,
    kSymbol = 64
  };

  std::size_t word(std::size_t start, MathEvidence& out) {
    char buffer[16];
    std::size_t i = start;
    std::size_t length = 0;
    while (i < text_.size() && is_ascii_alpha(text_[i])) {
      if (length < sizeof buffer) buffer[length] = ascii_lower(text_[i]);
      ++length;
      ++i;
    }
    if (length > sizeof buffer) return i;
    const std::string_view word(buffer, length);
    const std::uint8_t* kinds = math_words().find(word);
    if (kinds == nullptr) return i;
    if (*kinds & kMathWord) ++out.vocabulary;
    if ((*kinds & kMathFunction) && (start == 0 || !is_ascii_digit(text_[start - 1])) &&
        applied(i)) {
      notation_ |= kFunction;
    }
    if (*kinds & kMathPhraseStart) {
      for (const auto& phrase : kMathPhrases) {
        if (phrase.first == word && continues_with(text_, i, phrase.rest)) {
          ++out.vocabulary;
          break;
        }
      }
    }
    return i;
  }

  // A function name ending at `end` applied to something: "sin(", "x^", "log 2", "sin x".
  bool applied(std::size_t end) const {
    if (end >= text_.size()) return false;
    const char next = text_[end];
    if (next == '(' || next == '^') return true;
    return next == ' ' && end + 1 < text_.size() && is_ascii_alnum(text_[end + 1]) &&
           (end + 2 == text_.size() || !is_ascii_alpha(text_[end + 2]));
  }

  std::size_t number(std::size_t start, MathEvidence& out) {
    ++out.numbers;
    std::size_t i = start;
    while (i < text_.size() && (is_ascii_digit(text_[i]) || text_[i] == '.' || text_[i] == ',')) {
      ++i;
    }
    // An algebraic term before an operator: "3x + 7", "2n-1" (not "2x faster").
    if (i < text_.size() && is_variable_letter(text_[i]) &&
        (i + 1 == text_.size() || !is_ascii_alnum(text_[i + 1]))) {
      const std::size_t next = skip_spaces(text_, i + 1);
      if (next == text_.size() ||
          std::string_view("+-=^)/*<>").find(text_[next]) != std::string_view::npos) {
        notation_ |= kTerm;
      }
    }
    return i;
  }

  void symbol(std::size_t i) {
    const char c = text_[i];
    const std::size_t n = text_.size();
    if (c == '^') {
      if (i > 0 && i + 1 < n && (is_ascii_alnum(text_[i - 1]) || text_[i - 1] == ')') &&
          (is_ascii_alnum(text_[i + 1]) || text_[i + 1] == '(' || text_[i + 1] == '-')) {
        notation_ |= kPower;
      }
    } else if (c == '(') {
      // f(x), g(t): a lone letter applied to a variable.
      if (i > 0 && i + 2 < n && text_[i + 2] == ')' && is_variable_letter(text_[i + 1]) &&
          lone_letter(text_, i - 1)) {
        notation_ |= kFunctionOf;
      }
    } else if (c == '=') {
      equation(i);
    } else if (c == '%') {
      if (continues_with(text_, i + 1, " of ")) ++percent_of_;  // "17% of 240": a phrase
    } else if (c == '\\') {
      for (const auto command : kLatexCommands) {
        if (text_.compare(i + 1, command.size(), command) == 0) notation_ |= kLatex;
      }
    } else if (c == '\xc2' && i + 1 < n && (text_[i + 1] == '\xb2' || text_[i + 1] == '\xb3')) {
      // A square or a cube of a variable ("x²", "(a+b)³"), not of a unit ("50 m²").
      if (i > 0 && (is_variable_letter(text_[i - 1]) || text_[i - 1] == ')')) notation_ |= kPower;
    } else if (static_cast<unsigned char>(c) >= 0xC2) {
      for (const auto math : kMathSymbols) {
        if (text_.compare(i, math.size(), math) == 0) notation_ |= kSymbol;
      }
    }
  }

  // `=` with a number, a lone letter or a bracket on each side; not `==`, `=>`, `page=2`.
  void equation(std::size_t i) {
    const std::size_t n = text_.size();
    if (i == 0 || i + 1 >= n) return;
    if (std::string_view("=!<>:+-*/").find(text_[i - 1]) != std::string_view::npos ||
        text_[i + 1] == '=' || text_[i + 1] == '>') {
      return;
    }
    std::size_t left = i;
    while (left > 0 && text_[left - 1] == ' ') --left;
    const std::size_t right = skip_spaces(text_, i + 1);
    const bool left_math = left > 0 && (is_ascii_digit(text_[left - 1]) || text_[left - 1] == ')' ||
                                        lone_letter(text_, left - 1));
    const bool right_math = right < n && (is_ascii_digit(text_[right]) || text_[right] == '(' ||
                                          text_[right] == '-' || lone_letter(text_, right));
    if (left_math && right_math) notation_ |= kEquation;
  }

  std::string_view text_;
  unsigned notation_ = 0;
  int percent_of_ = 0;
};

}  // namespace

MathEvidence math_evidence(std::string_view full_text) {
  MathEvidence out = MathScan(utf8_prefix(full_text, 1000)).run();
  out.short_text = full_text.size() <= MathEvidence::kShortText;
  return out;
}

namespace {

// ---- script and language ----------------------------------------------------------------

enum Script {
  kLatin,
  kCyrillic,
  kGreek,
  kArabic,
  kHebrew,
  kHan,
  kKana,
  kHangul,
  kDevanagari,
  kThai,
  kOther,
  kScriptCount
};

constexpr std::string_view kScriptNames[] = {"latin",      "cyrillic", "greek", "arabic",
                                             "hebrew",     "cjk",      "cjk",   "cjk",
                                             "devanagari", "thai",     "other"};

int script_of(char32_t cp) {
  if (cp < 0x80) return is_ascii_alpha(static_cast<char>(cp)) ? kLatin : -1;
  if (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) return kLatin;
  if (cp >= 0x1E00 && cp <= 0x1EFF) return kLatin;
  if (cp >= 0x370 && cp <= 0x3FF) return kGreek;
  if (cp >= 0x400 && cp <= 0x52F) return kCyrillic;
  if (cp >= 0x590 && cp <= 0x5FF) return kHebrew;
  if ((cp >= 0x600 && cp <= 0x6FF) || (cp >= 0x750 && cp <= 0x77F)) return kArabic;
  if (cp >= 0x900 && cp <= 0x97F) return kDevanagari;
  if (cp >= 0xE00 && cp <= 0xE7F) return kThai;
  if (cp >= 0x3040 && cp <= 0x30FF) return kKana;
  if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF)) return kHan;
  if ((cp >= 0xAC00 && cp <= 0xD7AF) || (cp >= 0x1100 && cp <= 0x11FF)) return kHangul;
  if (cp >= 0x2000 && cp <= 0x2BFF) return -1;  // punctuation, symbols, arrows
  if (cp >= 0x1F000) return -1;                 // emoji
  return kOther;
}

struct Stopwords {
  std::string_view language;
  std::array<std::string_view, 32> words;  // unused slots stay empty
};

// Frequent function words that are (mostly) unique to one language. A word in two lists counts
// for both. Words that are also everyday English ("to", "was", "till", "comment"), names of
// code ("var") or math ("mu", "chi") are left out of the other languages' lists.
constexpr Stopwords kStopwords[] = {
    {"en",
     {"the", "and", "is",    "of",   "to",   "what", "with", "you",  "this", "how",    "are",
      "it",  "i",   "my",    "for",  "that", "can",  "be",   "me",   "want", "about",  "write",
      "why", "who", "which", "your", "from", "have", "or",   "does", "tell", "explain"}},
    {"es", {"el",    "los",    "las",     "que", "por",  "para",     "una",  "es",
            "con",   "del",    "cómo",    "qué", "está", "estoy",    "pero", "muy",
            "tengo", "hay",    "dónde",   "yo",  "cuál", "necesito", "mi",   "puedes",
            "sobre", "cuando", "también", "sus", "como", "ayuda",    "hola", "gracias"}},
    {"fr",
     {"le",  "les", "des", "est",   "et",      "une",   "pour", "que",  "dans", "pas",     "vous",
      "je",  "du",  "au",  "aux",   "suis",    "avec",  "sur",  "où",   "ce",   "ne",      "qui",
      "mon", "ma",  "mes", "votre", "bonjour", "merci", "il",   "elle", "nous", "pourquoi"}},
    {"de",
     {"der",  "die",   "und",  "ist",  "nicht", "das",   "ich",  "mit",  "ein",   "eine", "wie",
      "zu",   "du",    "auf",  "für",  "sie",   "bitte", "kann", "den",  "wir",   "dass", "es",
      "gibt", "viele", "auch", "sich", "noch",  "oder",  "mein", "habe", "warum", "mir"}},
    {"pt", {"o",    "os",    "que",     "não",  "uma",  "para",   "com",      "é",
            "do",   "da",    "em",      "você", "eu",   "muito",  "obrigado", "onde",
            "isso", "meu",   "tem",     "ao",   "qual", "melhor", "como",     "sobre",
            "olá",  "posso", "preciso", "seu",  "sua",  "mas",    "também",   "ajuda"}},
    {"it",
     {"il",   "che",    "non",   "di",     "per",  "una",    "è",   "gli", "sono",  "della", "come",
      "con",  "questo", "anche", "perché", "dove", "ho",     "sei", "mio", "molto", "sulla", "qual",
      "puoi", "cosa",   "nel",   "alla",   "ciao", "grazie", "mi",  "del", "mia",   "quale"}},
    // Not "de" or "en": as frequent in French, Spanish, Portuguese and Italian.
    {"nl",
     {"dit", "het",  "een",  "deze",  "van",    "is",     "niet",   "dat",  "ik",  "je",  "op",
      "te",  "zijn", "wat",  "hoe",   "mijn",   "voor",   "maar",   "ook",  "kan", "heb", "wordt",
      "zou", "bij",  "naar", "graag", "waarom", "hebben", "jullie", "kunt", "uw",  "wij"}},
    {"sv", {"och",   "att",  "det",    "är",    "som",   "på",     "för",    "med",
            "jag",   "inte", "har",    "du",    "vad",   "hur",    "kan",    "av",
            "den",   "om",   "ett",    "oss",   "mitt",  "varför", "hej",    "tack",
            "honom", "ni",   "skulle", "finns", "eller", "också",  "mycket", "kunna"}},
    {"pl", {"nie",   "się", "jest", "na",     "jak",    "gdy",      "czy",    "że",
            "dla",   "ale", "tak",  "jestem", "proszę", "dlaczego", "który",  "może",
            "mnie",  "są",  "mam",  "jaki",   "jaka",   "gdzie",    "bardzo", "dzień",
            "dobry", "mój", "moja", "oraz",   "albo",   "tylko",    "już",    "ich"}},
    {"tr", {"bir",  "ve",     "bu",      "için",   "ne",    "mi",       "mı",     "çok",
            "ile",  "nasıl",  "olan",    "yok",    "bana",  "sana",     "değil",  "gibi",
            "daha", "olarak", "merhaba", "lütfen", "neden", "nerede",   "benim",  "şu",
            "da",   "ama",    "veya",    "şey",    "mü",    "teşekkür", "yardım", "misin"}},
    // The languages below have no task-word glosses; knowing them keeps them from reading as a
    // near language above (Finnish as German by its ä and ö, Vietnamese as French by its ê).
    {"fi", {"ja",     "ei",    "että",   "hän",    "mutta",  "kun",    "tämä",  "minä",
            "sinä",   "ole",   "oli",    "olen",   "ovat",   "mitä",   "miten", "miksi",
            "kuinka", "myös",  "vain",   "jos",    "niin",   "kanssa", "sitä",  "tai",
            "minun",  "sinun", "kiitos", "voitko", "haluan", "onko",   "mikä",  "eikä"}},
    {"cs", {"je",   "se",     "jsem",      "jsou",  "být",  "není",   "mám",    "jsme",
            "když", "který",  "která",     "které", "také", "prosím", "děkuji", "proč",
            "kde",  "můžete", "potřebuji", "ahoj",  "jste", "bych",   "již",    "nebo",
            "jako", "už",     "jen",       "tento", "tady", "něco",   "jsi"}},
    {"vi", {"và",  "của", "là",  "có",    "không", "được", "này", "người", "những", "một", "các",
            "với", "tôi", "bạn", "trong", "để",    "đã",   "khi", "thì",   "như",   "làm", "gì",
            "sao", "nào", "ở",   "cũng",  "rất",   "xin",  "cảm", "ơn",    "chào",  "giúp"}},
    {"id", {"yang",   "ini",   "itu",          "dengan",  "untuk",  "tidak",  "saya",  "bagaimana",
            "dari",   "akan",  "bisa",         "juga",    "atau",   "kami",   "kita",  "anda",
            "mereka", "sudah", "karena",       "jika",    "tolong", "terima", "kasih", "mengapa",
            "adalah", "pada",  "bagaimanakah", "tentang", "belum"}},
    {"ro",
     {"și",    "şi",      "este",   "în",        "să",        "că",     "cu",   "mai",  "pentru",
      "sunt",  "dacă",    "vă",     "mulțumesc", "mulţumesc", "bună",   "unde", "poți", "vreau",
      "acest", "această", "foarte", "sau",       "aveți",     "ajutor", "fost", "doar", "îmi"}},
    {"hu", {"és",        "hogy",   "nem",    "egy",   "csak",     "már",    "még",   "kell",
            "vagy",      "lesz",   "miért",  "hol",   "köszönöm", "kérem",  "szia",  "tudna",
            "szeretném", "hogyan", "nekem",  "ezt",   "azt",      "vannak", "lehet", "nagyon",
            "mert",      "itt",    "milyen", "mikor", "segítség"}},
    // Danish and Norwegian share most words with each other and many with Swedish: the shared
    // ones are listed for all three, so the words and letters only one writes decide.
    {"da", {"og",    "er",       "jeg",   "ikke",  "af",    "hvad", "hvordan", "hvorfor",
            "meget", "også",     "eller", "mig",   "tak",   "skal", "vil",     "være",
            "hvis",  "hvor",     "fordi", "nogle", "noget", "godt", "dette",   "jer",
            "hjælp", "venligst", "kan",   "du",    "med",   "på",   "min",     "til"}},
    {"no", {"og",    "er",        "jeg",   "ikke", "hva", "hvordan", "hvorfor", "mye",
            "også",  "eller",     "meg",   "takk", "hei", "skal",    "vil",     "være",
            "hvis",  "hvor",      "fordi", "noen", "noe", "godt",    "dette",   "dere",
            "hjelp", "vennligst", "kan",   "du",   "med", "på",      "min",     "til"}},
};

// Letters only one of the languages above writes (UTF-8), each worth one stopword when present:
// they settle a short request whose few function words two languages share.
struct LetterCue {
  std::string_view letter;
  std::string_view language;
};
constexpr LetterCue kLetterCues[] = {
    {"\u00f1", "es"}, {"\u00bf", "es"}, {"\u00a1", "es"},                    // ñ ¿ ¡
    {"\u00e3", "pt"}, {"\u00f5", "pt"},                                      // ã õ
    {"\u00df", "de"}, {"\u00e4", "de"}, {"\u00f6", "de"}, {"\u00fc", "de"},  // ß ä ö ü
    {"\u00e8", "fr"}, {"\u00ea", "fr"}, {"\u0153", "fr"}, {"\u00ee", "fr"},  // è ê œ î
    {"\u00f2", "it"}, {"\u00ec", "it"},                                      // ò ì
    {"\u00e5", "sv"},                                                        // å
    {"\u0142", "pl"}, {"\u0105", "pl"}, {"\u0119", "pl"}, {"\u017c", "pl"},  // ł ą ę ż
    {"\u0131", "tr"}, {"\u0130", "tr"}, {"\u015f", "tr"}, {"\u011f", "tr"},  // ı İ ş ğ
    {"\u0159", "cs"}, {"\u011b", "cs"}, {"\u016f", "cs"},                    // ř ě ů
    {"\u01a1", "vi"}, {"\u01b0", "vi"}, {"\u0111", "vi"}, {"\u0103", "vi"},  // ơ ư đ ă
    {"\u0219", "ro"}, {"\u021b", "ro"}, {"\u0163", "ro"}, {"\u0103", "ro"},  // ș ț ţ ă
    {"\u0151", "hu"}, {"\u0171", "hu"},                                      // ő ű
    {"\u00e6", "da"}, {"\u00f8", "da"}, {"\u00e5", "da"},                    // æ ø å
    {"\u00e6", "no"}, {"\u00f8", "no"}, {"\u00e5", "no"},                    // æ ø å
};

template <std::size_t N>
void add_letter_cues(std::string_view text, std::array<int, N>& hits) {
  for (const auto& cue : kLetterCues) {
    if (text.find(cue.letter) == std::string_view::npos) continue;
    for (std::size_t l = 0; l < N; ++l) {
      if (kStopwords[l].language == cue.language) ++hits[l];
    }
  }
}

struct StopwordIndex {
  WordTable<unsigned> languages_of;  // bit per row of kStopwords
  std::size_t longest = 0;           // bytes; longer words are not looked up

  StopwordIndex() {
    for (std::size_t l = 0; l < std::size(kStopwords); ++l) {
      for (auto word : kStopwords[l].words) {
        if (!word.empty()) languages_of[word] |= 1u << l;
        longest = std::max(longest, word.size());
      }
    }
  }
};

bool is_word_byte(char c) {
  return has_class(c, kLetterByte);  // ASCII letter or non-ASCII
}

// Row of kStopwords of the language the tone-marked letters U+1EA0..U+1EF9 are written in.
constexpr std::size_t kVietnameseRow = [] {
  std::size_t row = 0;
  while (kStopwords[row].language != "vi") ++row;
  return row;
}();

// A letter of U+1EA0..U+1EF9 (UTF-8 E1 BA A0 .. E1 BB B9) begins the text.
bool starts_vietnamese_letter(std::string_view text) {
  if (text.size() < 3 || static_cast<unsigned char>(text[0]) != 0xE1) return false;
  const auto second = static_cast<unsigned char>(text[1]);
  const auto third = static_cast<unsigned char>(text[2]);
  return (second == 0xBA && third >= 0xA0) || (second == 0xBB && third <= 0xB9);
}

std::string_view latin_language(std::string_view text) {
  static const StopwordIndex index;  // immutable after its thread-safe construction
  std::array<int, std::size(kStopwords)> hits{};
  int words = 0;
  std::size_t i = 0;
  char buffer[16];
  bool non_ascii = false;      // every letter cue is non-ASCII: plain ASCII text skips that search
  int vietnamese_letters = 0;  // letters with Vietnamese tone marks, U+1EA0..U+1EF9
  while (i < text.size() && words < 200) {
    while (i < text.size() && !is_word_byte(text[i])) ++i;
    // Spanish opening marks are punctuation, not part of "¿Dónde".
    if (text.substr(i).starts_with("\u00bf") || text.substr(i).starts_with("\u00a1")) {
      non_ascii = true;
      i += 2;
      continue;
    }
    std::size_t length = 0;
    while (i < text.size() && is_word_byte(text[i])) {
      non_ascii |= static_cast<unsigned char>(text[i]) >= 0x80;
      if (static_cast<unsigned char>(text[i]) == 0xE1) {
        vietnamese_letters += starts_vietnamese_letter(text.substr(i));
      }
      if (length < sizeof buffer) buffer[length] = ascii_lower(text[i]);
      ++length;
      ++i;
    }
    if (length == 0) continue;
    ++words;
    if (length > index.longest || length > sizeof buffer) continue;  // not a stopword
    const unsigned* languages = index.languages_of.find(std::string_view(buffer, length));
    if (languages == nullptr) continue;
    for (unsigned rows = *languages; rows != 0; rows &= rows - 1) {
      ++hits[static_cast<std::size_t>(std::countr_zero(rows))];
    }
  }
  if (non_ascii) add_letter_cues(text.substr(0, i), hits);
  hits[kVietnameseRow] += vietnamese_letters;
  const auto best = std::max_element(hits.begin(), hits.end());
  if (*best == 0) return "unknown";
  // A tie between languages (e.g. only "que", shared by es/fr/pt) is not a guess worth making.
  if (std::count(hits.begin(), hits.end(), *best) > 1) return "unknown";
  return kStopwords[static_cast<std::size_t>(best - hits.begin())].language;
}

}  // namespace

ScriptSignals detect_script_and_language(std::string_view text) {
  std::array<int, kScriptCount> counts{};
  bool ukrainian_letters = false;
  std::size_t i = 0;
  while (i < text.size()) {
    if (i + 8 <= text.size()) {
      const std::uint64_t x = swar::load(text.data() + i);
      if ((x & swar::kHighs) == 0) {
        counts[kLatin] += static_cast<int>(swar::count(swar::letters(x)));
        i += 8;
        continue;
      }
    }
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      counts[kLatin] += is_ascii_alpha(text[i++]);
      continue;
    }
    const char32_t cp = next_code_point(text, i);
    const int script = script_of(cp);
    if (script >= 0) ++counts[static_cast<std::size_t>(script)];
    ukrainian_letters |= cp == 0x0456 || cp == 0x0457 || cp == 0x0454 || cp == 0x0491;
  }
  const int cjk = counts[kHan] + counts[kKana] + counts[kHangul];
  int best = kLatin;
  int best_count = -1;
  for (int s = 0; s < kScriptCount; ++s) {
    const int count = (s == kHan || s == kKana || s == kHangul) ? cjk : counts[s];
    if (count > best_count) {
      best = s;
      best_count = count;
    }
  }
  ScriptSignals out;
  if (best_count <= 0) return out;
  out.script = kScriptNames[best];
  switch (best) {
    case kLatin:
      out.language = latin_language(text);
      break;
    case kCyrillic:
      out.language = ukrainian_letters ? "uk" : "ru";
      break;
    case kGreek:
      out.language = "el";
      break;
    case kArabic:
      out.language = "ar";
      break;
    case kHebrew:
      out.language = "he";
      break;
    case kDevanagari:
      out.language = "hi";
      break;
    case kThai:
      out.language = "th";
      break;
    case kHan:
    case kKana:
    case kHangul:
      // Kana only appears in Japanese, Hangul only in Korean; Han alone is Chinese.
      out.language = counts[kKana] > 0 ? "ja" : counts[kHangul] > counts[kHan] ? "ko" : "zh";
      break;
    default:
      break;
  }
  return out;
}

}  // namespace llm_router::analyzer
