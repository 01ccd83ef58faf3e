-- How many times a sender claimed the message. A claim commits before the provider is
-- called, so a claim without a recorded outcome (the sender stopped between the call and
-- its commit) is known: the next attempt asks the provider before sending again.
ALTER TABLE messages ADD COLUMN claims INTEGER NOT NULL DEFAULT 0;
