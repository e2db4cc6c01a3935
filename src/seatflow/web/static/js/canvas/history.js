/* Seatflow image view: undo/redo over snapshots of the annotation (it is small, so copies are cheap). */
(function () {
  "use strict";
  var S = (window.Seatflow = window.Seatflow || {});
  var C = (S.canvas = S.canvas || {});

  function History(limit) {
    this.limit = limit || 300;
    this.past = [];
    this.future = [];
  }

  /** Record the state before an edit; a new edit drops what was undone. */
  History.prototype.record = function (before) {
    this.past.push(before);
    if (this.past.length > this.limit) this.past.shift();
    this.future = [];
  };

  /** The state to go back to (given the current one), or null. */
  History.prototype.undo = function (current) {
    if (!this.past.length) return null;
    this.future.push(current);
    return this.past.pop();
  };

  History.prototype.redo = function (current) {
    if (!this.future.length) return null;
    this.past.push(current);
    return this.future.pop();
  };

  History.prototype.canUndo = function () { return this.past.length > 0; };
  History.prototype.canRedo = function () { return this.future.length > 0; };

  C.History = History;
})();
