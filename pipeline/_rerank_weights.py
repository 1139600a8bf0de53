"""Weights of the ``features`` and ``maxsim`` rerankers (logistic models over pipeline._rerank.FEATURES).

Written by bench/fit_rerank.py: even split of the docugami key-figure questions (25 questions, 1250 candidates, 27 positives), mode hybrid, N=50, C=0.3.
"""

WEIGHTS: dict[str, float] = {'bias': -4.7361, 'first': 0.4883, 'cosine': -0.0212, 'term_cov': 0.6041, 'head_cov': 0.1845, 'bigram': 0.2892, 'best_row': 0.4183, 'numbers': 0.8832, 'table': 1.0012, 'quant_numbers': 0.4539, 'quant_table': 0.3002, 'years': 0.4068}
MAXSIM_WEIGHTS: dict[str, float] = {'bias': -4.7054, 'first': 0.4881, 'cosine': -0.0014, 'term_cov': 0.5987, 'head_cov': 0.18, 'bigram': 0.2866, 'best_row': 0.4116, 'numbers': 0.8846, 'table': 1.0078, 'quant_numbers': 0.4559, 'quant_table': 0.3053, 'years': 0.4053, 'maxsim': -0.081}
