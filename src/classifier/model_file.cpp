#include <bit>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "llm_router/classifier/linear_model.hpp"
#include "llm_router/core/file.hpp"

namespace llm_router::classifier {
namespace {

static_assert(std::endian::native == std::endian::little, "the model format is little-endian");

constexpr char kMagic[8] = {'L', 'L', 'M', 'R', 'C', 'L', 'S', '\0'};
constexpr uint32_t kEncodingF32 = 0;
constexpr uint32_t kMaxLabels = 4096;
constexpr uint32_t kMaxStringBytes = 1 << 20;

uint64_t fnv1a(std::span<const unsigned char> bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char b : bytes) h = (h ^ b) * 0x100000001b3ULL;
  return h;
}

class Writer {
 public:
  template <typename T>
  void put(T value) {
    const auto* p = reinterpret_cast<const unsigned char*>(&value);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
  }
  void put_string(const std::string& s) {
    put(static_cast<uint32_t>(s.size()));
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  void put_floats(const std::vector<float>& values) {
    const auto* p = reinterpret_cast<const unsigned char*>(values.data());
    bytes_.insert(bytes_.end(), p, p + values.size() * sizeof(float));
  }
  std::vector<unsigned char> finish() {
    put(fnv1a(bytes_));
    return std::move(bytes_);
  }

 private:
  std::vector<unsigned char> bytes_;
};

class Reader {
 public:
  Reader(std::span<const unsigned char> bytes, const std::string& name)
      : bytes_(bytes), name_(name) {}

  [[noreturn]] void fail(const std::string& problem) const {
    throw std::runtime_error(name_ + ": " + problem);
  }
  void need(size_t n, const char* what) const {
    if (bytes_.size() - offset_ < n) {
      fail("truncated model file (" + std::string(what) + " at byte " + std::to_string(offset_) +
           ", file has " + std::to_string(bytes_.size()) + " bytes)");
    }
  }
  template <typename T>
  T get(const char* what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_.data() + offset_, sizeof(T));
    offset_ += sizeof(T);
    return value;
  }
  std::string get_string(const char* what) {
    const auto size = get<uint32_t>(what);
    if (size > kMaxStringBytes) fail(std::string("implausible length of ") + what);
    need(size, what);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + offset_), size);
    offset_ += size;
    return s;
  }
  std::vector<float> get_floats(size_t count, const char* what) {
    if (count > (bytes_.size() - offset_) / sizeof(float)) need(count * sizeof(float), what);
    std::vector<float> values(count);
    std::memcpy(values.data(), bytes_.data() + offset_, count * sizeof(float));
    offset_ += count * sizeof(float);
    return values;
  }
  size_t offset() const { return offset_; }

 private:
  std::span<const unsigned char> bytes_;
  const std::string& name_;
  size_t offset_ = 0;
};

void validate(const FeaturizerConfig& c, const Reader& reader) {
  if (c.bucket_bits < 8 || c.bucket_bits > 26) reader.fail("bucket_bits out of range (8..26)");
  if (c.char_ngram_min > c.char_ngram_max || c.char_ngram_max > 7) {
    reader.fail("invalid character n-gram range");
  }
  if (c.max_chars == 0) reader.fail("max_chars must be positive");
}

}  // namespace

std::vector<unsigned char> serialize_model(const LinearModel& model) {
  Writer w;
  for (const char c : kMagic) w.put(c);
  w.put(kModelFormatVersion);
  w.put(static_cast<uint32_t>(model.labels().size()));
  for (const auto& label : model.labels()) w.put_string(label);
  const auto& c = model.featurizer_config();
  for (const uint32_t v :
       {c.bucket_bits, c.char_ngram_min, c.char_ngram_max, c.max_chars, c.char_ngram_chars,
        c.use_bigrams, c.use_dense, c.char_ngram_weight_pct}) {
    w.put(v);
  }
  w.put_string(model.metadata());
  w.put(kEncodingF32);
  w.put_floats(model.bias());
  w.put_floats(model.weights());
  return w.finish();
}

std::shared_ptr<const LinearModel> parse_model(std::span<const unsigned char> bytes,
                                               const std::string& name) {
  Reader r(bytes, name);
  r.need(sizeof(kMagic), "magic");
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    r.fail("not an llm-router model file (wrong magic)");
  }
  for (size_t i = 0; i < sizeof(kMagic); ++i) r.get<char>("magic");
  const auto version = r.get<uint32_t>("version");
  if (version != kModelFormatVersion) {
    r.fail("unsupported model format version " + std::to_string(version) + " (this build reads " +
           std::to_string(kModelFormatVersion) + ")");
  }
  if (bytes.size() < sizeof(uint64_t) + r.offset()) r.fail("truncated model file (no checksum)");
  const auto body = bytes.first(bytes.size() - sizeof(uint64_t));
  uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + body.size(), sizeof(stored));
  const auto label_count = r.get<uint32_t>("label count");
  if (label_count == 0 || label_count > kMaxLabels) r.fail("implausible label count");
  std::vector<std::string> labels;
  for (uint32_t i = 0; i < label_count; ++i) labels.push_back(r.get_string("label"));
  FeaturizerConfig c;
  for (uint32_t* field :
       {&c.bucket_bits, &c.char_ngram_min, &c.char_ngram_max, &c.max_chars, &c.char_ngram_chars,
        &c.use_bigrams, &c.use_dense, &c.char_ngram_weight_pct}) {
    *field = r.get<uint32_t>("featurizer config");
  }
  validate(c, r);
  auto metadata = r.get_string("metadata");
  if (r.get<uint32_t>("weight encoding") != kEncodingF32) r.fail("unknown weight encoding");
  auto bias = r.get_floats(label_count, "bias");
  auto weights = r.get_floats((size_t{1} << c.bucket_bits) * label_count, "weights");
  if (r.offset() != body.size()) {
    r.fail(r.offset() > body.size() ? "truncated model file (checksum missing)"
                                    : "unexpected bytes after the weights");
  }
  if (fnv1a(body) != stored) r.fail("checksum mismatch (file corrupt)");
  return std::make_shared<const LinearModel>(std::move(labels), c, std::move(weights),
                                             std::move(bias), std::move(metadata));
}

void save_model(const LinearModel& model, const std::string& path) {
  const auto bytes = serialize_model(model);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw std::runtime_error(path + ": cannot write model file");
}

std::shared_ptr<const LinearModel> load_linear_model(const std::string& path) {
  const std::string text = core::read_file_or_throw(path, "model file");
  return parse_model(std::span<const unsigned char>(
                         reinterpret_cast<const unsigned char*>(text.data()), text.size()),
                     path);
}

std::shared_ptr<const TextModel> load_text_model(const std::string& path) {
  return load_linear_model(path);
}

}  // namespace llm_router::classifier
