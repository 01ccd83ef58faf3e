-- An order placed while some of its units were out of stock (StockBackordered): the short
-- lines, what is held, the customer's deadline and the default, the restock date, the
-- answer and who gave it, and where it stands (open, waiting, dropped, filled). NULL: the
-- order had everything in stock.
ALTER TABLE orders ADD COLUMN backorder JSONB;
