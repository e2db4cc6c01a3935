"""Quality control as a pure library: scoring against gold, statistics, aggregation, agreement,
acceptance sampling and suspicious-answer flags. Nothing here touches the database; the engine
(services) calls these functions with plain Python values and numpy arrays.
"""
