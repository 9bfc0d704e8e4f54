module.exports = { greet: (who) => `hi ${who}` };
