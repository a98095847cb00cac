#include <gtest/gtest.h>

#include <string>

#include "llm_router/analyzer/analyzer.hpp"
#include "llm_router/analyzer/detectors.hpp"
#include "llm_router/analyzer/factory.hpp"

namespace llm_router::analyzer {
namespace {

TEST(EnglishGlosses, TaskWordsOfOtherLanguagesInTheirOrder) {
  EXPECT_EQ(english_glosses("Escribe una función en Python"), "write function");
  EXPECT_EQ(english_glosses("ESCRIBE una FUNCIÓN"), "write function");  // any case
  // Stems for inflected languages: "напиши", "функцию" are forms of "write", "function".
  EXPECT_EQ(english_glosses("Напиши функцию на Python"), "write function");
  // Chinese and Japanese are read inside runs without spaces, longest form first.
  EXPECT_EQ(english_glosses("用Python写一个快速排序函数"), "write fast sort function");
  // Korean: noun and particle ("함수를"), verb stem and ending ("작성해줘").
  EXPECT_EQ(english_glosses("파이썬으로 리스트를 정렬하는 함수를 작성해줘"),
            "python list sort function write");
  // Programming words and language names written in the local script, Arabic and Hindi too.
  EXPECT_EQ(english_glosses("اكتب دالة بلغة بايثون"), "write function python");
  EXPECT_EQ(english_glosses("ler um arquivo grande"), "read file");
  // A pair says what its second word alone would not.
  EXPECT_EQ(english_glosses("¿Por qué el cielo es azul?"), "why");
}

TEST(EnglishGlosses, EnglishAndUnlistedWordsGiveNothing) {
  EXPECT_EQ(english_glosses("Write a function that sorts a list"), "");
  EXPECT_EQ(english_glosses(""), "");
  EXPECT_EQ(english_glosses("\xff\xfe \xc3"), "");
  EXPECT_EQ(english_glosses("¿¡«»—，。"), "");
}

TEST(EnglishGlosses, ALongTextIsReadAtItsHeadAndTail) {
  std::string text = "Traduce este texto: ";
  while (text.size() < 8000) text += "el gato duerme en la casa todo el día. ";
  text += "Escribe un poema.";
  const std::string glosses = english_glosses(text);
  EXPECT_TRUE(glosses.starts_with("translate text")) << glosses;
  EXPECT_TRUE(glosses.ends_with("write poem")) << glosses;
}

// Words of feeling, negations and intensifiers, with the words between them kept as "the"
// (up to three): VADER's negation reaches three words back.
TEST(EnglishGlosses, FeelingWordsKeepTheirDistance) {
  EXPECT_EQ(english_sentiment_glosses("No funciona, es una estafa"), "not the the the scam");
  EXPECT_EQ(english_sentiment_glosses("Muchas gracias, todo perfecto"), "thanks the perfect");
  EXPECT_EQ(english_sentiment_glosses("¿Cómo cambio mi contraseña?"), "");
  // The task glosses keep no gaps: the models read the words, not their distance.
  EXPECT_EQ(english_glosses("Escribe, si puedes, una función"), "write function");
}

// The shipped models, with a keyword set in English.
std::shared_ptr<const Analyzer> shipped_analyzer() {
  AnalyzerSettings settings;
  settings.category_model = "models/category.model";
  settings.complexity_model = "models/complexity.model";
  settings.sentiment_lexicon = "models/vader_lexicon.txt";
  settings.sentiment_model = "models/sentiment.json";
  return make_analyzer(settings, std::string(LLM_ROUTER_SOURCE_DIR) + "/config",
                       {{"writing", {"poem", "write"}, {}}}, {});
}

TEST(EnglishGlosses, TheModelsReadThemForPromptsInOtherLanguages) {
  static const auto shipped = shipped_analyzer();
  const Analyzer& analyzer = *shipped;
  const Analysis spanish =
      analyzer.analyze_text("Escribe una función en Python que ordene una lista.");
  EXPECT_EQ(spanish.language, "es");
  EXPECT_EQ(spanish.category, "code");
  const Analysis russian =
      analyzer.analyze_text("Напиши функцию на Python, которая сортирует список.");
  EXPECT_EQ(russian.category, "code");
  // The feeling of a message in another language, through its glosses.
  const Analysis angry = analyzer.analyze_text(
      "No estoy nada contento, el servicio es terrible y encima nadie contesta!!");
  EXPECT_LT(angry.sentiment, -0.3);
  EXPECT_GT(analyzer.analyze_text("Muchas gracias, todo perfecto, sois geniales").sentiment, 0.3);
  EXPECT_NEAR(analyzer.analyze_text("¿Cómo cambio la contraseña de mi cuenta?").sentiment, 0.0,
              0.05);
  // Keyword rules still read the prompt as written, not its glosses.
  EXPECT_TRUE(analyzer.analyze_text("Escribe un poema sobre el mar").keyword_hits.empty());
}

}  // namespace
}  // namespace llm_router::analyzer
