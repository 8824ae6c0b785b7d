"""The mock observatory: a forward model of the galaxy population, the sky, KMOS and LDSS3.

Entry point: :func:`redshift1.mock.observe.observe` (``python -m redshift1 observe``).
"""
