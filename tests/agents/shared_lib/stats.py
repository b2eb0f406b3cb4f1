def mean[N: (int, float)](values: list[N]) -> float:
    return sum(values) / len(values)
