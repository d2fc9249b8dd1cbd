"""Plain async services the cogs stay thin over; none of them needs Discord to be tested."""
