#include <gtest/gtest.h>

#include "llm_router/analyzer/detectors.hpp"

namespace llm_router::analyzer {
namespace {

TEST(Code, FencedBlockWithLanguageTag) {
  const auto code = detect_code("Fix this:\n```py\ndef f(x):\n    return x\n```\nthanks");
  EXPECT_TRUE(code.has_code);
  EXPECT_EQ(code.languages, std::vector<std::string>{"python"});
}

TEST(Code, UnfencedCodeByLineDensity) {
  const auto code =
      detect_code("#include <vector>\nint main() {\n  std::vector<int> v;\n  return 0;\n}\n");
  EXPECT_TRUE(code.has_code);
  EXPECT_NE(std::find(code.languages.begin(), code.languages.end(), "cpp"), code.languages.end());
}

TEST(Code, ProseIsNotCode) {
  EXPECT_FALSE(detect_code("Write me a poem about the sea (short).\nMake it rhyme.").has_code);
  EXPECT_FALSE(detect_code("a single ``` fence is not a block").has_code);
  // Unfenced SQL, a short script; verse whose clauses end with semicolons is no code.
  EXPECT_TRUE(detect_code("why is this query slow?\nSELECT o.id, c.name\nFROM orders o\nJOIN "
                          "customers c ON c.id = o.customer_id\nWHERE o.total > 100\nORDER BY "
                          "o.total DESC;")
                  .has_code);
  EXPECT_TRUE(detect_code("Why?\nint count;\nreturn count;\nusing namespace std;").has_code);
  EXPECT_TRUE(detect_code("SELECT id FROM users;\nDELETE FROM sessions;\nLIMIT 10;").has_code);
  EXPECT_TRUE(
      detect_code("#!/bin/bash\nfind . -name '*.log' -mtime +7 -exec gzip {} \\;").has_code);
  EXPECT_FALSE(
      detect_code(
          "Roses are red;\nViolets are blue;\nI wrote this poem;\nJust for you.\nIs it good?")
          .has_code);
}

struct ScriptCase {
  const char* text;
  const char* script;
  const char* language;
};

class ScriptDetection : public ::testing::TestWithParam<ScriptCase> {};

TEST_P(ScriptDetection, DominantScriptAndLanguage) {
  const auto& c = GetParam();
  const auto s = detect_script_and_language(c.text);
  EXPECT_EQ(s.script, c.script) << c.text;
  EXPECT_EQ(s.language, c.language) << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ScriptDetection,
    ::testing::Values(
        ScriptCase{"What is the capital of France and how big is it?", "latin", "en"},
        ScriptCase{"¿Cuál es la capital de Francia y por qué es tan grande?", "latin", "es"},
        ScriptCase{"Quelle est la capitale de la France et pourquoi est-elle si grande ?", "latin",
                   "fr"},
        ScriptCase{"Was ist die Hauptstadt von Deutschland und wie groß ist sie nicht?", "latin",
                   "de"},
        ScriptCase{"Você sabe qual é a capital do Brasil? Não sei.", "latin", "pt"},
        ScriptCase{"Qual è la capitale d'Italia? Non lo so, sono gli ultimi della classe.", "latin",
                   "it"},
        // Short requests: a word shared by two languages ("je") needs a second one ("du").
        ScriptCase{"Je voudrais acheter du pain", "latin", "fr"},
        ScriptCase{"¿Dónde está la estación de tren?", "latin", "es"},
        ScriptCase{"Kannst du mir bitte helfen?", "latin", "de"},
        ScriptCase{"Hoe laat is het?", "latin", "nl"},
        // Letters only one language writes settle a tie ("para": es and pt; "¿": es).
        ScriptCase{"Hola, ¿puedes ayudarme a escribir un correo para mi jefe?", "latin", "es"},
        ScriptCase{"Je voudrais un remboursement, c'est la pire expérience de ma vie", "latin",
                   "fr"},
        ScriptCase{"What is the difference between a café and a bistro?", "latin", "en"},
        ScriptCase{"Какая столица у Франции?", "cyrillic", "ru"},
        ScriptCase{"法国的首都是哪里？", "cjk", "zh"},
        ScriptCase{"フランスの首都はどこですか？", "cjk", "ja"},
        ScriptCase{"프랑스의 수도는 어디입니까?", "cjk", "ko"},
        ScriptCase{"Ποια είναι η πρωτεύουσα της Γαλλίας;", "greek", "el"},
        ScriptCase{"ما هي عاصمة فرنسا؟", "arabic", "ar"},
        ScriptCase{"מהי בירת צרפת?", "hebrew", "he"},
        ScriptCase{"फ्रांस की राजधानी क्या है?", "devanagari", "hi"},
        ScriptCase{"Beweise, dass es unendlich viele Primzahlen gibt.", "latin", "de"},
        ScriptCase{"Write a haiku about autumn rain.", "latin", "en"},
        ScriptCase{"Necesito ayuda con mi tarea de historia.", "latin", "es"},
        ScriptCase{"Merhaba, yarın sabah Ankara'ya gitmem gerekiyor, tren mi uçak mı?", "latin",
                   "tr"},
        ScriptCase{"Dlaczego niebo jest niebieskie? Proszę o wyjaśnienie.", "latin", "pl"},
        ScriptCase{"Hej! Kan du hjälpa mig med att skriva ett brev till min chef?", "latin", "sv"},
        // Languages without glosses are named, not read as a near one.
        ScriptCase{"Voitko auttaa minua kirjoittamaan sähköpostin? Kiitos, tämä on tärkeää.",
                   "latin", "fi"},
        ScriptCase{"Můžete mi prosím pomoci napsat e-mail? Děkuji, je to důležité.", "latin", "cs"},
        ScriptCase{"Bạn có thể giúp tôi viết một email không? Cảm ơn.", "latin", "vi"},
        ScriptCase{"Tolong bantu saya menulis email untuk atasan saya, terima kasih.", "latin",
                   "id"},
        ScriptCase{"Mă puteți ajuta să scriu un e-mail către șeful meu? Mulțumesc.", "latin", "ro"},
        ScriptCase{"Tudna segíteni egy e-mailt írni a főnökömnek? Köszönöm szépen.", "latin", "hu"},
        ScriptCase{"Kan du hjælpe mig med at skrive en e-mail til min chef? På forhånd tak.",
                   "latin", "da"},
        ScriptCase{"Kan du hjelpe meg å skrive en e-post til sjefen min? På forhånd takk.", "latin",
                   "no"},
        ScriptCase{"Ask Dan about the pros and cons of volt meters in Arizona.", "latin", "en"},
        ScriptCase{"var x = 10; console.log(x)", "latin", "unknown"},
        ScriptCase{"12345 !!! ???", "none", "unknown"}));

TEST(CodeEvidence, ConfidentOnCodeOfManyLanguagesNotOnProseOrMath) {
  struct Case {
    const char* text;
    bool confident;
  };
  const Case cases[] = {
      {"Why does this JavaScript print undefined?\nconst user = {name: 'a'};\n"
       "console.log(user.age);",
       true},
      {"How do I implement a move constructor in C++ for a class that owns a raw pointer?", true},
      {"SELECT name, COUNT(*) FROM users GROUP BY name; why is this slow on postgres?", true},
      {"find . -name '*.log' -mtime +7 -exec rm {} \\; what does this command do?", true},
      {"In Go, how do I wait for several goroutines to finish? I tried wg.Add(1) but it hangs.",
       true},
      {"Write a Rust function that reverses a linked list.", true},
      {"My Rust program fails with \"borrowed value does not live long enough\".", true},
      {"Why does my React component call useEffect twice?", true},
      {"I get a NullPointerException when I call getName() on the user object", true},
      {"Should max_retries live in the settings module or in the client?", true},
      {"How do I read a file line by line in Go?", true},
      {"Go to settings and turn on dark mode.", false},
      {"Should I Go to Spain or Portugal in May?", false},
      {"Write a poem about drinking Java coffee on a rainy morning.", false},
      {"The rust on my bike is spreading; how do I stop it?", false},
      {"How did people react when the iPhone came out on macOS-only Macs?", false},
      {"Let $a_n$ be a sequence; prove the function f is bounded.", false},
      {"Let \\varPhi be the golden ratio. Show that \\varPhi^2 = \\varPhi + 1.", false},
      {"Tell me a story about a dragon who learns to code.", false},
      {"Summarize the plot of The Matrix (1999) and list the friend(s) Neo makes.", false},
      {"How many pairs $(a,b)$ satisfy $\\gcd(a,b)=1$ and \\[ \\frac{a}{b} \\] is an integer?",
       false},
      {"What is the capital of Australia?", false},
      {"", false},
      // Programming asked in words: a term only programmers use, two tools or protocols, two
      // programmer's names.
      {"whats a race condition and how do I avoid one", true},
      {"what is a mutex", true},
      {"explain big O notation like I'm five", true},
      {"difference between http and https", true},
      {"my nginx keeps returning 502 bad gateway", true},
      {"whats the difference between useEffect and useLayoutEffect", true},
      {"what is object-oriented programming", true},
      {"My webhook gets a KeyError on every retry", true},
      {"What's the difference between LEFT JOIN and INNER JOIN?", true},
      {"TypeError: Cannot read properties of undefined (reading 'map')", true},
      {"How do I fix the pagination in my Word thesis?", false},
      {"What does idempotent mean in ring theory?", false},
      // Programmers' words everyone borrows stay prose.
      {"Our team is moving to async communication, any tips?", false},
      {"How should I refactor my morning routine?", false},
      // Everyday words that name languages, links, literal garbage: prose.
      {"Classify which colors are shades of red: ruby, rust, crimson, violet", false},
      {"Read https://en.wikipedia.org/wiki/Main_Page and tell me about it", false},
      {"In each garbage collection, an average of 200 kg is taken.", false},
      {"the binary choice between tea and coffee", false},
      // A data format asked for is no programming: one word is one kind of evidence. Its
      // JavaScript object is ("JSON.parse").
      {"Return the list of EU capitals as JSON.", false},
      {"Why is my AWS bill so high this month?", false},
      // One programming language named is a programming question.
      {"How do I reverse a list in JavaScript?", true},
      {"how to split a string in python", true},
      // Unless the name is an everyday word too (a writer, an animal, a party).
      {"What is Kafka's The Trial about?", false},
      {"How many giant pandas live in the wild?", false},
      {"Why does JSON.parse throw on trailing commas?", true},
      {"A polyhedron has $n$ vertices; [asy] unitsize(1cm); drawLine(); fillArea(); [/asy]", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(code_evidence(c.text).confident(), c.confident) << c.text;
  }
  // A term or two languages yield to a task the prompt names; syntax with a language does not.
  EXPECT_FALSE(code_evidence("what is a mutex").strong());
  EXPECT_FALSE(code_evidence("Summarize what useEffect and useLayoutEffect do").strong());
  // A term met first does not end the reading before the stronger evidence after it.
  EXPECT_TRUE(code_evidence("Write a script that fixes the memory leak in my Python app").strong());
  EXPECT_TRUE(code_evidence("How do I read a file line by line in Go?").strong());
}

}  // namespace
}  // namespace llm_router::analyzer

namespace llm_router::analyzer {
namespace {

TEST(MathEvidence, ConfidentOnMathNotationAndWordsNotOnFiguresInProse) {
  struct Case {
    const char* text;
    bool confident;
  };
  const Case cases[] = {
      {"What is the derivative of sin(x)cos(x)?", true},
      {"Solve for x: 3x + 7 = 22", true},
      {"What is the integral of x^2 from 0 to 3?", true},
      {"How many ways can 5 people sit around a round table?", true},
      {"Convert 0.375 to a fraction.", true},
      {"Find the eigenvalues of the matrix [[2,1],[1,2]].", true},
      {"Is \xcf\x80 bigger than \xe2\x88\x9a"
       "10? Show the inequality.",
       true},
      {"Let f(x) = 2x + 1. What is f(3)?", true},
      {"Evaluate \\frac{1}{2} + \\frac{1}{3}", true},
      {"Our revenue grew 20% to $5M in 2023; write a tweet about it.", false},
      {"My app is 2x faster since version 3.2", false},
      {"Summarize the plot of The Matrix (1999).", false},
      {"What is the capital of Australia?", false},
      {"solve my wifi problem, it keeps dropping", false},
      {"", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(math_evidence(c.text).confident(), c.confident) << c.text;
  }
  // A long passage with figures and one math word is not a math question.
  std::string passage = "The Beatles formed in 1960 in Liverpool; their probability of success ";
  while (passage.size() < 400) passage += "was low, yet they sold 600 million records by 2012. ";
  EXPECT_FALSE(math_evidence(passage).confident());
}

TEST(InstructionCue, ReadsTheTaskTheFirstWordsName) {
  struct Case {
    std::string text;
    std::string_view expected;
  };
  const std::vector<Case> cases = {
      {"Summarize the following article: ...", "summarization"},
      {"Based on this contract clause, can the tenant sublet? ...", "closed_qa"},
      // The task after a lead-in that names none.
      {"Different question: prove that every group of prime order is cyclic.", "math"},
      {"ok cool. write me a limerick about cats", "creative_writing"},
      {"Thanks! Unrelated: summarize this abstract: ...", "summarization"},
      {"Note: the deploy failed again", ""},
      {"Briefly summarize the thread below", "summarization"},
      {"Write poetry about the sea", "creative_writing"},
      {"Write a short scene where two friends meet after 20 years", "creative_writing"},
      // A greeting's length is counted in characters: Japanese takes three bytes for each.
      {"hello how are\n\u3053\u3093\u306b\u3061\u306f\uff01\u5143\u6c17\u3067\u3059\u304b\uff1f",
       "chit_chat"},
      {"From this job post, what are the required skills? ...", "closed_qa"},
      {"Using the policy below, can I return opened headphones? ...", "closed_qa"},
      {"In this review, does the customer like the battery? ...", "closed_qa"},
      {"In code review, what should I look for?", ""},
      {"Using the message queue, how do I retry failed jobs?", ""},
      {"From this menu, could you recommend a dish? ...", ""},
      {"  please summarise this thread", "summarization"},
      {"Can you summarize my notes?", "summarization"},
      {"TL;DR of the text below", "summarization"},
      {"Give me a short summary of the meeting", "summarization"},
      {"Write me a short funny poem about cats", "creative_writing"},
      {"Could you help me write a cover letter for a data job?", "creative_writing"},
      {"Write a Python function that reverses a list", "code"},
      {"Write a CUDA kernel for a fused softmax", "code"},
      {"Can you give me a regex for email addresses?", "code"},
      {"Write a haiku about a function", "creative_writing"},
      {"Write an email to the shell company", ""},
      {"Implement a lock-free queue", ""},
      {"Give me a list of 10 startup ideas", "brainstorming"},
      {"Brainstorm names for a bakery", "brainstorming"},
      {"Suggest five ways to save money", "brainstorming"},
      {"Give me the details of the contract", ""},
      {"Prove that the square root of 2 is irrational.", "math"},
      {"Solve x^2 - 5x + 6 = 0", "math"},
      {"Calculate 15% of 80", "math"},
      {"Solve this bug in my login page", ""},
      {"Evaluate the pros and cons of remote work", ""},
      {"Classify these animals into mammals and reptiles: dog, snake", "classification"},
      {"Extract all dates from this text: ...", "information_extraction"},
      {"Pull out the company names from this paragraph: ...", "information_extraction"},
      {"Based on the text below, when was the company founded? Text: ...", "closed_qa"},
      {"According to this paragraph, why did the project fail?", "closed_qa"},
      {"From the passage below, list the ingredients needed.", "information_extraction"},
      {"Using the article above, summarize the main argument", "summarization"},
      {"In this text, find every phone number", "information_extraction"},
      {"In 1990, what happened in Berlin?", ""},
      {"What is the derivative of x^3 * sin(x)?", "math"},
      {"What is the probability of rolling two sixes with two dice?", "math"},
      {"What is 17% of 240?", "math"},
      {"What is 12 * 7?", "math"},
      {"Is 221 a prime number?", "math"},
      {"Explain the Pythagorean theorem", "math"},
      {"What is a derivative in finance?", ""},
      {"What happened between 1939-1945?", ""},
      {"The odds are good that it rains", ""},
      {"the product stopped working after two days", ""},
      {"what is the product of 12 and 7?", "math"},
      {"Houses in my area cost two times more than last year", ""},
      {"Tell me a joke about cats", "chit_chat"},
      {"Tell me about the history of jokes", ""},
      {"hi, how are you today?", "chit_chat"},
      {"Good morning!", "chit_chat"},
      {"Hello, I need help debugging my kubernetes deployment that keeps crashing", ""},
      {"What is the capital of Australia?", ""},
      {"", ""},
      {"   \n ", ""},
      {"Summarizer settings are in the config file", ""},
      // Everyday phrasings of the same tasks.
      {"make this shorter: the dog needs a walk at 7 and at 6", "summarization"},
      {"Can you make it more concise?", "summarization"},
      {"shorten this email please", "summarization"},
      {"3 bullet points summarizing this: version 4.2 adds dark mode", "summarization"},
      {"label each as even or odd: 14, 27, 38", "classification"},
      {"Tag these reviews as positive or negative", "classification"},
      {"Sort the following animals into mammals and birds", "classification"},
      {"Sort this array in place", ""},
      {"Label the parts of a flower", ""},
      {"just list the ingredients from this: whisk two eggs", "information_extraction"},
      {"Find the dates from the email below", "information_extraction"},
      {"List the kings from the Tudor dynasty", ""},
      {"Cover letter for an ICU nurse moving into UX research", "creative_writing"},
      {"haiku about autumn rain", "creative_writing"},
      {"A 100-word story where the villain wins", "creative_writing"},
      {"Story problems are hard for my son", ""},
      {"Letter of credit vs bank guarantee?", ""},
      {"10 ways a hospital could cut ER wait times", "brainstorming"},
      {"five names for a bakery", "brainstorming"},
      {"The ways to love a man is an album", ""},
      {"10 ways are there to seat them?", ""},
      {"Show that every group of order 15 is cyclic.", "math"},
      {"Show that you care about your team", ""},
      {"Show that spreadsheet from Q3 2023 again please", ""},
      {"Make my commute shorter", ""},
      {"Is the story in Genesis literal?", ""},
      {"Ode to Joy composer?", ""},
      {"Best toast for breakfast?", ""},
      {"Find the roots from this quadratic: x^2 - 5x + 6 = 0", "math"},
      {"Get the average from the following numbers: 4, 8, 15", "math"},
      // What a pointed passage holds, asked for.
      {"Pull the dates out of this email: 'the kickoff is on May 4'", "information_extraction"},
      {"Find all the action items in these notes and who owns them: 'Tom to send the budget'",
       "information_extraction"},
      {"Which medications and dosages are mentioned here? 'metformin 500 mg'",
       "information_extraction"},
      {"Identify every person mentioned in this sentence and their role: 'Ana Ruiz thanked Ben'",
       "information_extraction"},
      {"Who are the people named in the passage? Lauri Silvan was born in 1932",
       "information_extraction"},
      {"Find the bug in this function: def f(x): return x", ""},
      {"Identify from this list which are crayon colors: razzle dazzle rose, banana", ""},
      {"Which of the locations mentioned in this article is closest to Rudzk?", ""},
      {"What was his best game mentioned in the text?", ""},
      {"Which countries are mentioned in the song Waka Waka?", ""},
      {std::string(200, 'x') + " summarize", ""},
      // The request after a pasted passage names the task too.
      {"The Millbrook Public Library reopened on Saturday after a two-year renovation that added "
       "a maker space.\nSummarize the passage above.",
       "summarization"},
      {"Paris, Lyon and Paris again; then Nice, Lyon and Paris on the last day of the tour.\n\n"
       "Write a function that counts how often each city is mentioned above.",
       "code"},
      {"The Millbrook Public Library reopened on Saturday after a two-year renovation.\nhello", ""},
      {"Short.\nSummarize this long request that is longer than the text before it", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(instruction_cue(c.text), c.expected) << c.text;
}

}  // namespace
}  // namespace llm_router::analyzer
