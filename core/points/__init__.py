"""The points ledger (append-only entries, balances, holds and outstanding deductions) and its
cycles (base score, year-end clearing or carry-over). Below every domain that earns or spends points."""
