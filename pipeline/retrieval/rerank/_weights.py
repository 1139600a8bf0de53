"""Weights of the ``features`` and ``maxsim`` rerankers (logistic models over pipeline.retrieval.rerank._features.FEATURES).

Written by bench/fit_rerank.py: even split of the docugami key-figure questions (25 questions, 1250 candidates, 27 positives), mode hybrid, N=50, pairwise objective, C=0.01.
"""

WEIGHTS: dict[str, float] = {'bias': -5.3309, 'first': 0.9125, 'cosine': -0.0603, 'term_cov': 0.8632, 'head_cov': 0.1705, 'section': 0.618, 'bigram': 0.4029, 'best_row': 0.5858, 'numbers': 1.2445, 'table': 1.2797, 'quant_numbers': 0.5052, 'quant_table': 0.6821, 'years': 0.4398}
MAXSIM_WEIGHTS: dict[str, float] = {'bias': -5.358, 'first': 0.9058, 'cosine': -0.0619, 'term_cov': 0.8596, 'head_cov': 0.1696, 'section': 0.6162, 'bigram': 0.401, 'best_row': 0.5829, 'numbers': 1.2413, 'table': 1.2756, 'quant_numbers': 0.5039, 'quant_table': 0.6804, 'years': 0.4367, 'maxsim': 0.0715}
