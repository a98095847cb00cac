#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "llm_router/tokenizer/tokenizer.hpp"

namespace llm_router::tokenizer {

// A test suite with both shipped encodings loaded once for all its tests.
class WithEncoders : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto tables = std::filesystem::path(LLM_ROUTER_SOURCE_DIR) / "config" / "tokenizers";
    cl100k_ =
        std::make_unique<Encoder>(Encoder::load_from_directory(Encoding::cl100k_base, tables));
    o200k_ = std::make_unique<Encoder>(Encoder::load_from_directory(Encoding::o200k_base, tables));
  }
  static void TearDownTestSuite() {
    cl100k_.reset();
    o200k_.reset();
  }
  inline static std::unique_ptr<Encoder> cl100k_;
  inline static std::unique_ptr<Encoder> o200k_;
};

}  // namespace llm_router::tokenizer
