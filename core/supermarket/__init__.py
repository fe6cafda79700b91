"""The points supermarket (积分超市): the counter (checkout, void, delivery), catalogue and
stock, receipts, and the monthly 五公开 report."""
