# Training settings of the shipped classifier models, shared by scripts/train-models.sh and
# bench/classifier_vs_fasttext.sh. Chosen on the validation part (--holdout 0.2) and by
# `--cv 5` on the train part only.
CATEGORY_LABELS=code,math,open_qa,closed_qa,general_qa,brainstorming,classification,information_extraction,summarization,creative_writing,chit_chat
CATEGORY_DATA=data/dolly15k/train.jsonl,data/code_math/train.jsonl,data/clinc150_smalltalk/train.jsonl
CATEGORY_ARGS="--seed 1 --epochs 5 --lr 0.2 --l2 1e-4 --char-ngram-weight 25 --char-ngram-chars 500 --style-copies"
COMPLEXITY_DATA=data/routellm_mmlu/train.jsonl,data/routellm_gsm8k/train.jsonl,data/routellm_mt_bench/train.jsonl
COMPLEXITY_ARGS="--seed 1 --epochs 5 --lr 0.01 --balance-benchmarks --domain-smoothing 0.5 --char-ngram-weight 50 --char-ngram-chars 500 --no-bigrams"
HOLDOUT=0.2
