"""The business clock: an earlier reading only narrows the scan, never changes the answer."""

import pandas as pd

from supplyfit.live.sensing import clock, week
from supplyfit.store import Store


def test_clock_since_an_earlier_reading_equals_a_full_reading_even_after_orders_are_removed(store_db):
    db, _ = store_db
    with Store(db) as st:
        full = clock(st.con, "default")
        assert clock(st.con, "default", full[0]) == full
        assert clock(st.con, "default", full[0] - pd.Timedelta(weeks=3)) == full
        # orders at or after the earlier reading are gone (a load undone): the whole table is read again
        st.con.execute("DELETE FROM orders WHERE tenant = 'default' AND ts >= ?", [full[0] - pd.Timedelta(days=3)])
        assert clock(st.con, "default", full[0]) == clock(st.con, "default") < full
        assert week(st.con, "default", full[0]).skus["now"].iloc[0] == clock(st.con, "default")[0]
        assert clock(st.con, "nobody", full[0]) == (None, None)
