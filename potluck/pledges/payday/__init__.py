"""Payday: the periodic clearing that turns pledges into charges, payments and held promises."""
