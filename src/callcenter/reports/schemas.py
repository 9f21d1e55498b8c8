"""Wire shapes of the scorecard (reports themselves are documented dicts:
their columns follow the measures)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,64}$")]
Month = Annotated[str, StringConstraints(pattern=r"^(19[7-9]\d|20\d\d)-(0[1-9]|1[0-2])$")]
Finite = Annotated[float, Field(ge=-1e9, le=1e9, allow_inf_nan=False)]


class IndicatorIn(BaseModel):
    code: Code
    name: str = Field(min_length=1, max_length=128)
    name_en: str = Field("", max_length=128)
    source: str = Field(description="'manual' or 'measure:<name>'", min_length=1, max_length=64)
    weight: float = Field(gt=0, le=100, allow_inf_nan=False)
    excellent: Finite
    target: Finite
    warning: Finite
    higher_is_better: bool = True
    owner: str = Field("", max_length=128)


class IndicatorOut(IndicatorIn):
    id: int


class ManualFigureIn(BaseModel):
    code: Code
    month: Month
    value: Finite
