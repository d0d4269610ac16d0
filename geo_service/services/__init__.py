"""What the API routes and the commands share: runs, profiles, decision tools, exports, caches."""
