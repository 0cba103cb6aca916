"""HTTP controllers: parse, authorise, call one service, return a response."""
